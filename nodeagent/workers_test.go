package nodeagent

import (
	"log/slog"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// TestPodWorkers holds the removal of one Pod (a stop waiting its grace) and checks that the
// passes meanwhile return, that another Pod deleted then is removed at once, that the held Pod
// gets no second operation while its first runs, and that its end kicks a pass.
func TestPodWorkers(t *testing.T) {
	slow, quick := testPod("slow", "", "main"), testPod("quick", "", "main")
	st := &fakeAgentStore{statuses: map[string]api.PodStatus{}}
	for _, p := range []*api.Pod{slow, quick} {
		p.Spec.NodeName = "n1"
		st.pods = append(st.pods, store.Item[api.Pod]{Name: api.PodKeyOf(p).String(), Value: *p})
	}
	rt := newFakeRuntime(t0)
	a := NewAgent(st, rt, slog.New(slog.DiscardHandler), AgentOptions{Node: NodeConfig{Name: "n1"}, Now: func() time.Time { return t0 }})
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	rt.hold = map[api.PodKey]chan struct{}{api.PodKeyOf(slow): release}
	defer close(release)

	st.pods = st.pods[1:] // slow deleted: its removal starts and waits
	if err := a.pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	st.pods = nil // quick deleted during slow's removal
	for range 3 {
		if err := a.pass(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "quick removed", func() bool { return rt.count("remove default/quick") == 1 })
	<-a.workers.kick
	if n := a.workers.inFlight(); n != 1 {
		t.Fatalf("%d pods in flight, want slow's removal alone", n)
	}
	if sbs, _ := rt.List(t.Context()); len(sbs) != 1 || rt.count("remove default/slow") != 1 {
		t.Fatalf("while slow's removal is held: runtime %+v, calls %q; want slow alone, removed once", sbs, rt.calls)
	}
	release <- struct{}{}
	<-a.workers.kick
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := rt.count("remove default/slow"); n != 1 {
		t.Fatalf("slow removed %d times, want once: calls %q", n, rt.calls)
	}
}

// waitUntil waits for cond, which operations running on other goroutines make true.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTerminatingStatus holds the stop of a Pod replaced by a new spec and checks that the Pod
// reports Terminating, not ready, until its containers are gone.
func TestTerminatingStatus(t *testing.T) {
	pod := testPod("web", "", "main")
	pod.Spec.NodeName = "n1"
	st := &fakeAgentStore{statuses: map[string]api.PodStatus{},
		pods: []store.Item[api.Pod]{{Name: "default/web", Value: *pod}}}
	rt := newFakeRuntime(t0)
	a := NewAgent(st, rt, slog.New(slog.DiscardHandler), AgentOptions{Node: NodeConfig{Name: "n1"}, Now: func() time.Time { return t0 }})
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	rt.hold = map[api.PodKey]chan struct{}{api.PodKeyOf(pod): release}
	st.pods[0].Value = *withArgs(pod, "sleep", "1")
	if err := a.pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := st.statuses["default/web"]; got.Reason != ReasonTerminating || got.Ready {
		t.Fatalf("status while stopping: %+v", got)
	}
	close(release)
	a.workers.wait()
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := st.statuses["default/web"]; got.Reason == ReasonTerminating || got.Phase != api.PodRunning {
		t.Fatalf("status once replaced: %+v", got)
	}
}
