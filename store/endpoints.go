package store

import (
	"context"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func endpointsKey(namespace, name string) string { return prefix(Endpoints) + namespace + "/" + name }

// PutEndpoints writes the record of the Service ep names, whatever is stored: the endpoints
// controller derives it from the state, and only its leader writes it, so the fence of a
// fenced store (see Fenced) is the only compare it needs.
func (s *Store) PutEndpoints(ctx context.Context, ep *api.Endpoints) error {
	return put(ctx, s, endpointsKey(ep.Namespace, ep.Name), ep)
}

// DeleteEndpoints deletes the record of the Service namespace/name; deleting none is no error.
func (s *Store) DeleteEndpoints(ctx context.Context, namespace, name string) error {
	return s.commit(ctx, "delete endpoints of "+namespace+"/"+name, ErrConflict, nil,
		clientv3.OpDelete(endpointsKey(namespace, name)))
}

// ListEndpoints reads every Service's endpoints record, by "namespace/name", at one revision,
// which it returns.
func (s *Store) ListEndpoints(ctx context.Context) ([]Item[api.Endpoints], int64, error) {
	return list[api.Endpoints](ctx, s, Endpoints)
}

// ListServiceStatuses reads every Service's allocation (see ServiceState.Statuses), by
// "namespace/name", at one revision, which it returns.
func (s *Store) ListServiceStatuses(ctx context.Context) ([]Item[api.ServiceStatus], int64, error) {
	return list[api.ServiceStatus](ctx, s, ServiceStatus)
}

// DesiredKindSource is a CacheSource whose Desired holds only the desired objects of kind: a
// Cache of Desired read through it (decoded with DecodeDesiredEntry) lists and watches that
// kind's keys alone, so that a loop about Services is neither sent nor woken by a sync of ten
// thousand ConfigMaps. Other resources are read from s as they are.
func (s *Store) DesiredKindSource(kind string) CacheSource {
	return desiredKindSource{s: s, prefix: desiredKindPrefix(kind)}
}

type desiredKindSource struct {
	s      *Store
	prefix string
}

func (d desiredKindSource) ListRaw(ctx context.Context, r Resource) ([]Item[[]byte], int64, error) {
	if r != Desired {
		return d.s.ListRaw(ctx, r)
	}
	return d.s.listRaw(ctx, r, d.prefix)
}

func (d desiredKindSource) Watch(ctx context.Context, r Resource, rev int64) <-chan Event {
	if r != Desired {
		return d.s.Watch(ctx, r, rev)
	}
	return d.s.watch(ctx, r, d.prefix, rev)
}
