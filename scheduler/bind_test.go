package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// TestSchedulerRestartBindsEachPodOnce stops a Scheduler once its first batch is bound, likely
// amid the next, and starts another on the same etcd: every Pod ends bound, and etcd's own
// history shows each Pod written bound exactly once, so the restart lost nothing and bound
// nothing twice, whichever binds were in flight.
func TestSchedulerRestartBindsEachPodOnce(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	for i := range 3 {
		registerNode(t, st, testNode(fmt.Sprintf("n%d", i), "64", "256Gi"))
	}
	from, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 2*store.MaxBindBatch+10)
	for i := range names {
		names[i] = fmt.Sprintf("p-%03d", i)
		createPods(t, st, testPod(names[i], owner("Deployment/default/p"), requests("100m", "64Mi")))
	}
	first, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- New(st, testLogger(t).With("scheduler", "s1"), Options{}).Run(first) }()
	waitFor(t, "a first batch bound", func() (bool, string) {
		n := boundCount(t, st)
		return n > 0, fmt.Sprintf("%d bound", n)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	startScheduler(t, st, "s2", Options{})
	waitFor(t, "every pod bound", func() (bool, string) {
		_, ok, why := podsBound(t, st, names...)
		return ok, why
	})
	writes := boundWrites(t, st, from)
	if len(writes) != len(names) {
		t.Errorf("%d Pods written bound, want %d", len(writes), len(names))
	}
	for name, n := range writes {
		if n != 1 {
			t.Errorf("%s written bound %d times, want once", name, n)
		}
	}
}

// boundCount is the number of Pods bound now.
func boundCount(t *testing.T, st *store.Store) int {
	t.Helper()
	pods, _, err := st.ListPods(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pods {
		if p.Value.Spec.NodeName != "" {
			n++
		}
	}
	return n
}

// boundWrites replays etcd's history of the Pods after revision from, up to a marker Pod it
// writes last (so it knows where the history ends: one batch is many events at one revision,
// and other writes move the revision too), and counts per Pod the writes that left it bound.
func boundWrites(t *testing.T, st *store.Store, from int64) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pollDeadline)
	defer cancel()
	const marker = "zz-history-end"
	createPods(t, st, testPod(marker))
	out := map[string]int{}
	for ev := range st.Watch(ctx, store.Pods, from) {
		if ev.Name == "default/"+marker {
			return out
		}
		var p api.Pod
		if !ev.Deleted && json.Unmarshal(ev.Value, &p) == nil && p.Spec.NodeName != "" {
			out[ev.Name]++
		}
	}
	t.Fatal("the watch of the Pods' history ended before its marker")
	return nil
}
