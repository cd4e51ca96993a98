package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestFencedWritesFailOnceTheTermEnds stands in for an election with a key under a lease: while
// the key lives the fenced store writes and a lost compare-and-swap is still ErrConflict; once
// the lease is revoked every leader write fails with ErrNotLeader and changes nothing.
func TestFencedWritesFailOnceTheTermEnds(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	c := s.Client()
	lease, err := c.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	key := store.LeaderPrefix("test") + "/a"
	resp, err := c.Put(ctx, key, "a", clientv3.WithLease(lease.ID))
	if err != nil {
		t.Fatal(err)
	}
	f := s.Fenced(store.Fence{Key: key, Rev: resp.Header.Revision})

	pod := &api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: "p"}}
	if err := f.CreatePod(ctx, pod); err != nil {
		t.Fatalf("create pod as leader: %v", err)
	}
	if err := f.CreatePod(ctx, pod); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create a taken pod as leader = %v, want ErrConflict", err)
	}
	if _, err := c.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	d := deployment("a", 1)
	writes := map[string]func() error{
		"CommitSync": func() error {
			_, err := f.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(d), Object: d}},
				Status: api.SyncStatus{Source: "default"}, History: &api.HistoryEntry{Result: api.SyncSynced}})
			return err
		},
		"CreatePod": func() error {
			return f.CreatePod(ctx, &api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: "q"}})
		},
		"DeletePod": func() error { return f.DeletePod(ctx, "default", "p", 0) },
		"BindPod":   func() error { _, rev, _ := s.GetPod(ctx, "default", "p"); return f.BindPod(ctx, *pod, rev, "n1") },
		"BindPods": func() error {
			_, rev, _ := s.GetPod(ctx, "default", "p")
			_, err := f.BindPods(ctx, []store.Binding{{Pod: *pod, ModRevision: rev, Node: "n1"}})
			return err
		},
		"PutHealth":       func() error { return f.PutHealth(ctx, api.HealthStatus{Source: "default"}) },
		"PutNodesStatus":  func() error { return f.PutNodesStatus(ctx, api.NodesStatus{}) },
		"AssignPodCIDR":   func() error { return f.AssignPodCIDR(ctx, "n1", "10.244.0.0/24", api.NodeSpec{}, 0) },
		"ReleasePodCIDR":  func() error { return f.ReleasePodCIDR(ctx, "10.244.1.0/24", "n1") },
		"PutEndpoints":    func() error { return f.PutEndpoints(ctx, &api.Endpoints{Namespace: "default", Name: "web"}) },
		"DeleteEndpoints": func() error { return f.DeleteEndpoints(ctx, "default", "web") },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, store.ErrNotLeader) {
			t.Errorf("%s after the term ended = %v, want ErrNotLeader", name, err)
		}
	}
	if _, _, err := s.GetPod(ctx, "default", "p"); err != nil {
		t.Errorf("the deposed leader's delete went through: %v", err)
	}
	if h, err := s.ListHistory(ctx, "default"); err != nil || len(h) != 0 {
		t.Errorf("history = %v, %v; want none", h, err)
	}
	// The zero fence adds no compare: an unelected store still writes.
	if err := s.PutHealth(ctx, api.HealthStatus{Source: "default"}); err != nil {
		t.Errorf("unfenced write: %v", err)
	}
}
