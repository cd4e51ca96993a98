package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// LeaseID identifies an etcd lease that keeps a node's heartbeat key alive.
type LeaseID = clientv3.LeaseID

// ErrNodeNameTaken means another host registered the node name first.
var ErrNodeNameTaken = errors.New("the node name is registered by another host")

// GrantLease creates a lease that expires ttl after its last keep-alive.
func (s *Store) GrantLease(ctx context.Context, ttl time.Duration) (LeaseID, error) {
	resp, err := s.c.Grant(ctx, max(int64(ttl.Seconds()), 1))
	if err != nil {
		return 0, fmt.Errorf("grant lease: %w", err)
	}
	return resp.ID, nil
}

// KeepAlive renews lease until ctx ends; the returned channel closes when renewal stops,
// for example because the lease expired, and the caller must register again.
func (s *Store) KeepAlive(ctx context.Context, lease LeaseID) (<-chan struct{}, error) {
	ch, err := s.c.KeepAlive(ctx, lease)
	if err != nil {
		return nil, fmt.Errorf("keep lease alive: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
		}
	}()
	return done, nil
}

// PutNode writes a node's registration and status (its agent). The record outlives the agent:
// a node that stops heartbeating turns NotReady instead of vanishing. It fails with
// ErrNodeNameTaken when the name is registered with another Status.HostID.
func (s *Store) PutNode(ctx context.Context, node *api.Node) error {
	key := nodeKey(node.Metadata.Name)
	for range 3 {
		cur, rev, err := get[api.Node](ctx, s, key)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case cur.Status.HostID != "" && cur.Status.HostID != node.Status.HostID:
			return fmt.Errorf("register node %s: %w (host %s)", node.Metadata.Name, ErrNodeNameTaken, cur.Status.HostID)
		}
		stored := *node
		stored.Spec = api.NodeSpec{} // the control plane's, in NodeSpecs
		err = casPut(ctx, s, key, &stored, rev)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("register node %s: %w", node.Metadata.Name, ErrConflict)
}

// GetNode reads a node's registration and status as its agent wrote it (no spec, no check of
// its heartbeat: see ListNodes for those).
func (s *Store) GetNode(ctx context.Context, name string) (api.Node, error) {
	n, _, err := get[api.Node](ctx, s, nodeKey(name))
	return n, err
}

// PutNodeLease writes node's heartbeat key under lease: the node is live while it exists.
func (s *Store) PutNodeLease(ctx context.Context, node string, lease LeaseID) error {
	return put(ctx, s, nodeLeaseKey(node), time.Now().UTC().Format(time.RFC3339), clientv3.WithLease(lease))
}

// DeleteNode removes a node for good: its registration, heartbeat and spec. Its Pod range is
// released by the node controller.
func (s *Store) DeleteNode(ctx context.Context, name string) error {
	_, err := s.txn(ctx, nil, clientv3.OpDelete(nodeKey(name)), clientv3.OpDelete(nodeLeaseKey(name)),
		clientv3.OpDelete(nodeSpecKey(name)))
	if err != nil {
		return fmt.Errorf("delete node %s: %w", name, err)
	}
	return nil
}

// ListNodes reads every registered node at one revision, which it returns, merged with its
// spec and its heartbeat: a node without a live heartbeat is not Ready, and its Ready condition
// says so.
func (s *Store) ListNodes(ctx context.Context) ([]Item[api.Node], int64, error) {
	resp, err := s.c.Txn(ctx).Then(clientv3.OpGet(prefix(Nodes), clientv3.WithPrefix()),
		clientv3.OpGet(prefix(NodeSpecs), clientv3.WithPrefix()),
		clientv3.OpGet(prefix(NodeLeases), clientv3.WithPrefix(), clientv3.WithKeysOnly())).Commit()
	if err != nil {
		return nil, 0, fmt.Errorf("list nodes: %w", err)
	}
	specs := map[string]api.NodeSpec{}
	for _, kv := range resp.Responses[1].GetResponseRange().GetKvs() {
		var sp api.NodeSpec
		if json.Unmarshal(kv.Value, &sp) == nil {
			specs[relName(NodeSpecs, string(kv.Key))] = sp
		}
	}
	live := map[string]bool{}
	for _, kv := range resp.Responses[2].GetResponseRange().GetKvs() {
		live[relName(NodeLeases, string(kv.Key))] = true
	}
	var out []Item[api.Node]
	for _, kv := range resp.Responses[0].GetResponseRange().GetKvs() {
		var n api.Node
		if json.Unmarshal(kv.Value, &n) != nil {
			continue
		}
		name := relName(Nodes, string(kv.Key))
		MergeNode(&n, specs[name], live[name])
		out = append(out, Item[api.Node]{Name: name, Value: n, ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision})
	}
	return out, resp.Header.Revision, nil
}

// MergeNode completes a node as its agent wrote it with the control plane's spec and whether
// its heartbeat lives: without one it is not Ready, and its Ready condition is Unknown.
func MergeNode(n *api.Node, spec api.NodeSpec, live bool) {
	n.Spec = spec
	if live {
		return
	}
	n.Status.Ready = false
	ready := api.NodeCondition{Type: api.NodeReady, Status: api.ConditionUnknown, Reason: api.ReasonLeaseExpired,
		Message: "the node's agent stopped heartbeating"}
	if c := n.Status.Condition(api.NodeReady); c != nil {
		*c = ready
		return
	}
	n.Status.Conditions = append(n.Status.Conditions, ready)
}

// GetNodeSpec reads what the control plane decided for node, and its revision (0 when none).
func (s *Store) GetNodeSpec(ctx context.Context, node string) (api.NodeSpec, int64, error) {
	sp, rev, err := get[api.NodeSpec](ctx, s, nodeSpecKey(node))
	if errors.Is(err, ErrNotFound) {
		return api.NodeSpec{}, 0, nil
	}
	return sp, rev, err
}

// AssignPodCIDR records cidr as node's Pod range, in the ledger and the node's spec, in one
// transaction. It fails with ErrConflict when the range is taken or the spec moved since it was
// read at specRev (0: it must not exist), so two assigners never give one range twice.
func (s *Store) AssignPodCIDR(ctx context.Context, node, cidr string, spec api.NodeSpec, specRev int64) error {
	spec.PodCIDR = cidr
	b, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encode node spec: %w", err)
	}
	return s.commit(ctx, "assign "+cidr+" to node "+node, ErrConflict, []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(podCIDRKey(cidr)), "=", 0),
		clientv3.Compare(clientv3.ModRevision(nodeSpecKey(node)), "=", specRev),
	}, clientv3.OpPut(podCIDRKey(cidr), node), clientv3.OpPut(nodeSpecKey(node), string(b)))
}

// ListPodCIDRs reads the ledger of assigned Pod ranges: range -> node.
func (s *Store) ListPodCIDRs(ctx context.Context) (map[string]string, int64, error) {
	resp, err := s.c.Get(ctx, prefix(PodCIDRs), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("list pod cidrs: %w", err)
	}
	out := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[strings.ReplaceAll(relName(PodCIDRs, string(kv.Key)), "_", "/")] = string(kv.Value)
	}
	return out, resp.Header.Revision, nil
}

// ReleasePodCIDR frees cidr if node still holds it.
func (s *Store) ReleasePodCIDR(ctx context.Context, cidr, node string) error {
	// A range another node holds now is not this node's to free: a failed compare is success.
	_, err := s.txn(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.Value(podCIDRKey(cidr)), "=", node)},
		clientv3.OpDelete(podCIDRKey(cidr)))
	if err != nil {
		return fmt.Errorf("release %s of node %s: %w", cidr, node, err)
	}
	return nil
}

// PutNodesStatus records the scheduler's view of the nodes.
func (s *Store) PutNodesStatus(ctx context.Context, st api.NodesStatus) error {
	return put(ctx, s, prefix(NodesStatus)+"all", st)
}

// GetNodesStatus reads the scheduler's view of the nodes; ErrNotFound before its first record.
func (s *Store) GetNodesStatus(ctx context.Context) (api.NodesStatus, error) {
	st, _, err := get[api.NodesStatus](ctx, s, prefix(NodesStatus)+"all")
	return st, err
}
