package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/leader"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestAuthElections: each control-plane identity campaigns in its elections with its own
// client, makes a fenced write while it leads, and hands the role over when it stops (the
// revoke of its session's lease deletes its key, which needs the right to write that key).
func TestAuthElections(t *testing.T) {
	c := startAuthCluster(t)
	if err := c.admin.PutNode(t.Context(), &api.Node{Metadata: api.ObjectMeta{Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		election string
		st       *store.Store
		write    func(ctx context.Context, st *store.Store) error
	}{
		{store.ElectionController, c.controller, c.commitWith},
		{store.ElectionWorkloads, c.controller, func(ctx context.Context, st *store.Store) error {
			return st.CreatePod(ctx, fixture.Pod("elected", "busybox"))
		}},
		{store.ElectionNodeIPAM, c.controller, func(ctx context.Context, st *store.Store) error {
			return st.AssignPodCIDR(ctx, "a", "10.244.1.0/24", api.NodeSpec{}, 0)
		}},
		{store.ElectionServices, c.controller, func(ctx context.Context, st *store.Store) error {
			return st.CommitServiceStatus(ctx, "default/elected", &api.ServiceStatus{ClusterIP: "10.96.0.1"}, 0,
				store.ServiceClaims{IPs: []string{"10.96.0.1"}}, store.ServiceClaims{})
		}},
		{store.ElectionEndpoints, c.controller, func(ctx context.Context, st *store.Store) error {
			return st.PutEndpoints(ctx, &api.Endpoints{Namespace: "default", Name: "elected"})
		}},
		{store.ElectionScheduler, c.scheduler, func(ctx context.Context, st *store.Store) error {
			return st.PutNodesStatus(ctx, api.NodesStatus{Total: 1})
		}},
	} {
		t.Run(tt.election, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			wrote := make(chan error, 1)
			done := make(chan error, 1)
			go func() {
				done <- leader.Run(ctx, tt.st, leader.Config{Role: tt.election, Identity: "host-1", TTL: 2 * time.Second}, discardLogger(),
					func(ctx context.Context, fence store.Fence) error {
						wrote <- tt.write(ctx, tt.st.Fenced(fence))
						<-ctx.Done()
						return nil
					})
			}()
			select {
			case err := <-wrote:
				if err != nil {
					t.Fatalf("fenced write while leading: %v", err)
				}
			case err := <-done:
				t.Fatalf("election ended: %v", err)
			case <-ctx.Done():
				t.Fatal("never elected")
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			resp, err := c.admin.Client().Get(t.Context(), store.LeaderPrefix(tt.election)+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil || resp.Count != 0 {
				t.Errorf("candidate keys left after the stop: %v, %v", resp, err)
			}
		})
	}
}

// commitWith commits one desired object through st.
func (c *authCluster) commitWith(ctx context.Context, st *store.Store) error {
	return c.commit(st)(ctx)
}
