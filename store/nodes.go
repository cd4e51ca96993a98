package store

import (
	"context"
	"fmt"
	"time"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// LeaseID identifies an etcd lease that keeps a node's key alive.
type LeaseID = clientv3.LeaseID

// GrantLease creates a lease that expires ttl after its last keep-alive.
func (s *Store) GrantLease(ctx context.Context, ttl time.Duration) (LeaseID, error) {
	resp, err := s.c.Grant(ctx, int64(ttl.Seconds()))
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

// PutNode writes a node's record under its lease, so it disappears when the agent stops renewing.
func (s *Store) PutNode(ctx context.Context, node *api.Node, lease LeaseID) error {
	return put(ctx, s, nodeKey(node.Metadata.Name), node, clientv3.WithLease(lease))
}

// ListNodes reads every registered node at one revision, which it returns.
func (s *Store) ListNodes(ctx context.Context) ([]Item[api.Node], int64, error) {
	return list[api.Node](ctx, s, Nodes)
}
