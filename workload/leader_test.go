package workload

import (
	"context"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/leader"
	"github.com/gitfleet/gitfleet/store"
)

// TestTwoControllersOneLeader runs two workload controllers under one election through a
// rollout: the Pods of the Deployment never exceed replicas plus the surge of one, and each
// is created once.
func TestTwoControllersOneLeader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := etcdtest.Start(t)
	registerN1(t, st)
	rev, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	events := st.Watch(wctx, store.Pods, rev)
	commitDesired(t, st, map[api.Key]api.Object{webKey: fixture.Deployment("web", 3, "nginx:1")})
	dones := make(chan error, 2)
	for _, who := range []string{"a", "b"} {
		log := fixture.Logger(t).With("candidate", who)
		go func() {
			dones <- leader.Run(ctx, st, leader.Config{Role: "workloads", Identity: who, TTL: 2 * time.Second}, log,
				func(ctx context.Context, f store.Fence) error {
					return NewController(st.Fenced(f), log, Options{Resync: time.Second, Rand: testRand()}).Run(ctx)
				})
		}()
	}
	go fakeAgent(ctx, st)
	allOf := func(n int, image string) func() bool { return webPodsAre(t, st, n, image) }
	fixture.WaitFor(t, "3 pods", allOf(3, "nginx:1"))
	commitDesired(t, st, map[api.Key]api.Object{webKey: fixture.Deployment("web", 3, "nginx:2")})
	fixture.WaitFor(t, "rollout to nginx:2", allOf(3, "nginx:2"))
	time.Sleep(500 * time.Millisecond) // room for a second writer to show itself
	cancel()
	for range 2 {
		if err := <-dones; err != nil {
			t.Fatalf("run: %v", err)
		}
	}

	// Every Pod event up to now, the last of which may be older than the store's revision.
	last, err := st.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(time.Second, stopWatch)
	live, most, created := map[string]bool{}, 0, 0
	for ev := range events {
		if ev.Revision > last {
			break
		}
		switch {
		case ev.Deleted:
			delete(live, ev.Name)
		case ev.CreateRevision == ev.Revision:
			live[ev.Name] = true
			created++
		}
		most = max(most, len(live))
	}
	t.Logf("created %d pods, at most %d at once", created, most)
	if most > 4 {
		t.Errorf("at most %d pods at once; want replicas 3 plus a surge of 1", most)
	}
	if created != 6 {
		t.Errorf("created %d pods; want 3, then 3 for the rollout", created)
	}
}
