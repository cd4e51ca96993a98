package noderights_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/noderights"
	"github.com/gitfleet/gitfleet/store"
)

// reads reports whether st may read the desired object k; any failure but a refusal fails t.
func reads(t *testing.T, st *store.Store, k api.Key) bool {
	t.Helper()
	_, err := st.GetDesired(t.Context(), k)
	if errors.Is(err, store.ErrPermissionDenied) {
		return false
	}
	if err != nil {
		t.Fatalf("read %s: %v", k, err)
	}
	return true
}

// waitReads waits until each node reads exactly the ConfigMaps of want among all.
func waitReads(t *testing.T, what string, nodes map[string]*store.Store, all []api.Key, want map[string][]api.Key) {
	t.Helper()
	fixture.WaitFor(t, what, func() bool {
		for node, st := range nodes {
			for _, k := range all {
				granted := false
				for _, w := range want[node] {
					granted = granted || w == k
				}
				if reads(t, st, k) != granted {
					return false
				}
			}
		}
		return true
	})
}

// usingPod is a Pod of namespace default bound to node that reads the ConfigMaps cms.
func usingPod(name, node string, cms ...string) *api.Pod {
	p := fixture.Pod(name, "busybox")
	p.Spec.NodeName = node
	for i, cm := range cms {
		p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env,
			api.EnvVar{Name: fmt.Sprintf("V%d", i), ValueFrom: fixture.KeyRef(cm, "k", false)})
	}
	return p
}

// TestControllerKeepsNodeRights runs the controller against an etcd with auth: each node
// reads the ConfigMaps of the Pods bound to it as they come and go, and a grant left from
// before the controller started is revoked.
func TestControllerKeepsNodeRights(t *testing.T) {
	ctx := t.Context()
	admin, srv := etcdtest.StartTLS(t)
	if err := admin.EnableAuth(ctx); err != nil {
		t.Fatal(err)
	}
	nodes := map[string]*store.Store{}
	for _, n := range []string{"a", "b"} {
		if err := admin.EnsureNodeUser(ctx, n); err != nil {
			t.Fatal(err)
		}
		nodes[n] = srv.ConnectAs(t, store.NodeUser(n))
	}
	var writes []store.Write
	var all []api.Key
	for _, name := range []string{"cm1", "cm2"} {
		cm := fixture.ConfigMap("default", name, map[string]string{"k": name})
		writes = append(writes, store.Write{Key: api.KeyOf(cm), Object: cm})
		all = append(all, api.KeyOf(cm))
	}
	if _, err := admin.CommitSync(ctx, store.SyncRecord{Writes: writes, Status: api.SyncStatus{Source: "test"}}); err != nil {
		t.Fatal(err)
	}
	cm1, cm2 := all[0], all[1]
	if err := admin.SetNodeConfigMaps(ctx, "b", []api.Key{cm2}); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- noderights.New(admin, fixture.Logger(t), noderights.Options{}).Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitReads(t, "the stale grant revoked", nodes, all, nil)

	for _, p := range []*api.Pod{usingPod("p", "a", "cm1"), usingPod("q", "b", "cm1", "cm2"), usingPod("unbound", "", "cm2")} {
		if err := admin.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	waitReads(t, "the grants of bound pods", nodes, all, map[string][]api.Key{"a": {cm1}, "b": {cm1, cm2}})

	if err := admin.DeletePod(ctx, "default", "p", 0); err != nil {
		t.Fatal(err)
	}
	waitReads(t, "a's grant revoked with its pod", nodes, all, map[string][]api.Key{"b": {cm1, cm2}})

	// The scheduler binds the third Pod to a.
	p, rev, err := admin.GetPod(ctx, "default", "unbound")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.BindPod(ctx, p, rev, "a"); err != nil {
		t.Fatal(err)
	}
	if err := admin.DeletePod(ctx, "default", "q", 0); err != nil {
		t.Fatal(err)
	}
	waitReads(t, "the grants follow binding and deletion", nodes, all, map[string][]api.Key{"a": {cm2}})
}
