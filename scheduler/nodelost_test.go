package scheduler

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

func TestLostNodes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bound := func(name, node string) store.Item[api.Pod] {
		p := testPod(name)
		p.Spec.NodeName = node
		return store.Item[api.Pod]{Name: "default/" + name, Value: *p}
	}
	l := listing{
		nodes: []store.Item[api.Node]{{Name: "alive", Value: *testNode("alive", "1", "1Gi")}},
		pods:  []store.Item[api.Pod]{bound("a", "alive"), bound("b", "gone"), bound("c", "gone"), bound("d", "new"), bound("e", "")},
	}
	got := lostNodes(l, map[string]time.Time{"gone": t0, "back": t0}, t0.Add(time.Minute))
	want := map[string]time.Time{"gone": t0, "new": t0.Add(time.Minute)}
	if len(got) != len(want) {
		t.Fatalf("lostNodes = %v, want %v", got, want)
	}
	for n, since := range want {
		if !got[n].Equal(since) {
			t.Errorf("node %s missing since %v, want %v", n, got[n], since)
		}
	}
}

func TestPodsOfLostNodeAreEvicted(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	lease, err := st.GrantLease(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutNode(ctx, testNode("n1", "2", "4Gi"), lease); err != nil {
		t.Fatal(err)
	}
	p := testPod("p")
	p.Spec.NodeName = "n1"
	createPods(t, st, p)
	startScheduler(t, st, "s", Options{NodeLostGrace: 300 * time.Millisecond, Resync: 50 * time.Millisecond})
	time.Sleep(500 * time.Millisecond) // longer than the grace: a live node keeps its Pod
	if _, _, err := st.GetPod(ctx, "default", "p"); err != nil {
		t.Fatalf("pod of a live node: %v", err)
	}
	if _, err := st.Client().Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pod of the lost node evicted", func() (bool, string) {
		_, _, err := st.GetPod(ctx, "default", "p")
		return errors.Is(err, store.ErrNotFound), "pod still there"
	})
}
