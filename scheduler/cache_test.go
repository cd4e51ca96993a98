package scheduler

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// listCounter counts the lists of each resource its caches make.
type listCounter struct {
	*store.Store

	mu    sync.Mutex
	lists map[store.Resource]int
}

func (l *listCounter) ListRaw(ctx context.Context, r store.Resource) ([]store.Item[[]byte], int64, error) {
	l.mu.Lock()
	l.lists[r]++
	l.mu.Unlock()
	return l.Store.ListRaw(ctx, r)
}

func (l *listCounter) counts() map[store.Resource]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[store.Resource]int{}
	for r, n := range l.lists {
		out[r] = n
	}
	return out
}

// Pods created one at a time, each bound by a pass of its own, and a node joining later reach
// the scheduler through its watches: it lists each resource once, at the start.
func TestSchedulerListsOnceThenWatches(t *testing.T) {
	st := etcdtest.Start(t)
	lc := &listCounter{Store: st, lists: map[store.Resource]int{}}
	registerNode(t, st, testNode("n1", "64", "64Gi"))
	startScheduler(t, lc, "s1", Options{Resync: time.Hour})
	const n = 30
	for i := range n {
		name := fmt.Sprintf("p-%02d", i)
		createPods(t, st, testPod(name, requests("100m", "64Mi")))
		waitFor(t, name+" bound", func() (bool, string) {
			_, ok, why := podsBound(t, st, name)
			return ok, why
		})
		if i == n/2 {
			registerNode(t, st, testNode("n2", "64", "64Gi"))
		}
	}
	want := map[store.Resource]int{store.Pods: 1, store.Nodes: 1, store.NodeSpecs: 1, store.NodeLeases: 1}
	if got := lc.counts(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lists %v after %d pod changes, want %v: one per resource", got, 2*n, want)
	}
}
