package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

func bound(name, node string) store.Item[api.Pod] {
	p := testPod(name)
	p.Spec.NodeName = node
	return store.Item[api.Pod]{Name: "default/" + name, Value: *p}
}

func nodeItem(name string, ready bool) store.Item[api.Node] {
	n := testNode(name, "1", "1Gi")
	n.Status.Ready = ready
	return store.Item[api.Node]{Name: name, Value: *n}
}

func TestLostNodes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := listing{
		nodes: []store.Item[api.Node]{nodeItem("alive", true), nodeItem("down", false), nodeItem("back", true)},
		pods:  []store.Item[api.Pod]{bound("a", "alive"), bound("b", "gone"), bound("c", "gone"), bound("d", "down"), bound("e", "")},
	}
	got := lostNodes(l, map[string]time.Time{"gone": t0, "back": t0}, t0.Add(time.Minute))
	want := map[string]time.Time{"gone": t0, "down": t0.Add(time.Minute)}
	if len(got) != len(want) {
		t.Fatalf("lostNodes = %v, want %v", got, want)
	}
	for n, since := range want {
		if !got[n].Equal(since) {
			t.Errorf("node %s lost since %v, want %v", n, got[n], since)
		}
	}
}

func TestPlanEvictions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nodes := func(states ...bool) []store.Item[api.Node] {
		var out []store.Item[api.Node]
		for i, ready := range states {
			out = append(out, nodeItem(string(rune('a'+i)), ready))
		}
		return out
	}
	pods := []store.Item[api.Pod]{bound("p1", "a"), bound("p2", "b"), bound("p3", "b"), bound("p4", "c")}
	always := func() bool { return true }
	tests := []struct {
		name    string
		nodes   []store.Item[api.Node]
		grace   time.Duration
		tokens  int
		evict   string
		waiting int
		brake   bool
	}{
		{"one of three lost", nodes(true, false, true), 0, 10, "p2,p3", 0, false},
		{"within the grace", nodes(true, false, true), time.Minute, 10, "", 2, false},
		{"rate limited", nodes(true, false, true), 0, 1, "p2", 1, false},
		{"two of three lost: brake", nodes(true, false, false), 0, 10, "", 0, true},
		{"half lost is not more than half", nodes(true, false, true, false), 0, 10, "p2,p3", 0, false},
		{"none lost", nodes(true, true, true), 0, 10, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := listing{nodes: tt.nodes, pods: pods}
			lost := lostNodes(l, nil, t0)
			tokens := tt.tokens
			take := func() bool { tokens--; return tokens >= 0 }
			if tt.tokens == 0 {
				take = always
			}
			p := planEvictions(l, lost, t0.Add(time.Second), tt.grace, take)
			var names []string
			for _, it := range p.evict {
				names = append(names, it.Value.Metadata.Name)
			}
			if got := strings.Join(names, ","); got != tt.evict || p.waiting != tt.waiting || (p.brake != "") != tt.brake {
				t.Fatalf("evict %q, waiting %d, brake %q; want %q, %d, brake %t", got, p.waiting, p.brake, tt.evict, tt.waiting, tt.brake)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := limiter{rate: 2, burst: 3}
	got := 0
	for range 10 {
		if b.take(t0) {
			got++
		}
	}
	if got != 3 {
		t.Fatalf("burst: %d taken, want 3", got)
	}
	if !b.take(t0.Add(500*time.Millisecond)) || b.take(t0.Add(500*time.Millisecond)) {
		t.Fatal("after half a second at 2/s, one more token and no second")
	}
}

func TestPodsOfLostNodeAreEvicted(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	lease := registerNode(t, st, testNode("n1", "2", "4Gi"))
	registerNode(t, st, testNode("n2", "2", "4Gi"))
	registerNode(t, st, testNode("n3", "2", "4Gi"))
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

// When most nodes are lost at once, nothing is evicted and the nodes status says why.
func TestEvictionBrake(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	shared := registerNode(t, st, testNode("n1", "2", "4Gi"))
	registerNode(t, st, testNode("n2", "2", "4Gi"))
	registerNode(t, st, testNode("n3", "2", "4Gi"))
	if err := st.PutNodeLease(ctx, "n2", shared); err != nil { // n1 and n2 go at once
		t.Fatal(err)
	}
	p := testPod("p")
	p.Spec.NodeName = "n1"
	createPods(t, st, p)
	startScheduler(t, st, "s", Options{Resync: 50 * time.Millisecond})
	if _, err := st.Client().Revoke(ctx, shared); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "evictions paused", func() (bool, string) {
		ns, err := st.GetNodesStatus(ctx)
		return err == nil && strings.Contains(ns.EvictionsPaused, "2 of 3 nodes are NotReady (n1, n2)"), fmt.Sprintf("%+v, %v", ns, err)
	})
	time.Sleep(300 * time.Millisecond)
	if _, _, err := st.GetPod(ctx, "default", "p"); err != nil {
		t.Fatalf("pod evicted under the brake: %v", err)
	}
}
