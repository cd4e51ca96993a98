package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ServiceState is everything the services controller decides from, read at one revision.
type ServiceState struct {
	// Services are the desired Services by "namespace/name"; nil for one whose value does not
	// decode (the sync controller repairs it), which must keep what it holds meanwhile.
	Services map[string]*api.Service
	// Statuses are the allocations recorded, by "namespace/name", with their ModRevision.
	Statuses map[string]Item[api.ServiceStatus]
	// IPs and NodePorts are the ledgers: what is taken, and by which "namespace/name".
	IPs       map[string]string
	NodePorts map[int32]string
	Revision  int64
}

// ServiceClaims are ledger entries: virtual IPs and node ports.
type ServiceClaims struct {
	IPs       []string
	NodePorts []int32
}

func serviceStatusKey(service string) string { return prefix(ServiceStatus) + service }

func serviceIPKey(ip string) string { return prefix(ServiceIPs) + ip }

func nodePortKey(port int32) string { return prefix(NodePorts) + strconv.Itoa(int(port)) }

// ListServiceState reads the desired Services, their recorded allocations and both ledgers in
// one transaction, so that what it returns is one consistent revision.
func (s *Store) ListServiceState(ctx context.Context) (ServiceState, error) {
	services := desiredKindPrefix(api.KindService)
	resp, err := s.c.Txn(ctx).Then(clientv3.OpGet(services, clientv3.WithPrefix()),
		clientv3.OpGet(prefix(ServiceStatus), clientv3.WithPrefix()),
		clientv3.OpGet(prefix(ServiceIPs), clientv3.WithPrefix()),
		clientv3.OpGet(prefix(NodePorts), clientv3.WithPrefix())).Commit()
	if err != nil {
		return ServiceState{}, fmt.Errorf("list service state: %w", err)
	}
	st := ServiceState{Services: map[string]*api.Service{}, Statuses: map[string]Item[api.ServiceStatus]{},
		IPs: map[string]string{}, NodePorts: map[int32]string{}, Revision: resp.Header.Revision}
	for _, kv := range resp.Responses[0].GetResponseRange().GetKvs() {
		name := string(kv.Key[len(services):])
		k, err := parseDesiredKey(string(kv.Key))
		if err != nil {
			continue
		}
		svc, _ := decodeDesired(k, kv.Value).(*api.Service)
		st.Services[name] = svc
	}
	for _, kv := range resp.Responses[1].GetResponseRange().GetKvs() {
		var v api.ServiceStatus
		if json.Unmarshal(kv.Value, &v) == nil {
			name := relName(ServiceStatus, string(kv.Key))
			st.Statuses[name] = Item[api.ServiceStatus]{Name: name, Value: v, ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision}
		}
	}
	for _, kv := range resp.Responses[2].GetResponseRange().GetKvs() {
		st.IPs[relName(ServiceIPs, string(kv.Key))] = string(kv.Value)
	}
	for _, kv := range resp.Responses[3].GetResponseRange().GetKvs() {
		if p, err := strconv.ParseInt(relName(NodePorts, string(kv.Key)), 10, 32); err == nil {
			st.NodePorts[int32(p)] = string(kv.Value)
		}
	}
	return st, nil
}

// CommitServiceStatus records status as the allocation of service ("namespace/name"; nil
// deletes it) if the record is still at rev (0: it must not exist), takes every claim of take
// (each must be free) and frees every claim of release (each must still be service's), all in
// one transaction. It fails with ErrConflict when any of that no longer holds, so that two
// controllers never give one address or port twice: the caller reads again and retries.
func (s *Store) CommitServiceStatus(ctx context.Context, service string, status *api.ServiceStatus, rev int64, take, release ServiceClaims) error {
	key := serviceStatusKey(service)
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", rev)}
	var ops []clientv3.Op
	if status == nil {
		ops = append(ops, clientv3.OpDelete(key))
	} else {
		b, err := json.Marshal(status)
		if err != nil {
			return fmt.Errorf("encode status of service %s: %w", service, err)
		}
		ops = append(ops, clientv3.OpPut(key, string(b)))
	}
	for _, k := range take.keys() {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
		ops = append(ops, clientv3.OpPut(k, service))
	}
	for _, k := range release.keys() {
		cmps = append(cmps, clientv3.Compare(clientv3.Value(k), "=", service))
		ops = append(ops, clientv3.OpDelete(k))
	}
	return s.commit(ctx, "record the addresses of service "+service, ErrConflict, cmps, ops...)
}

// keys are the ledger keys of c's addresses and node ports.
func (c ServiceClaims) keys() []string {
	out := make([]string, 0, len(c.IPs)+len(c.NodePorts))
	for _, ip := range c.IPs {
		out = append(out, serviceIPKey(ip))
	}
	for _, p := range c.NodePorts {
		out = append(out, nodePortKey(p))
	}
	return out
}

// WatchServices sends each change of a desired Service after rev, as Watch does.
func (s *Store) WatchServices(ctx context.Context, rev int64) <-chan Event {
	return s.watch(ctx, Desired, desiredKindPrefix(api.KindService), rev)
}
