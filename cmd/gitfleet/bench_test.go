package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/store"
)

// BenchmarkPushToRunning measures, for the example, the time from `git push` to all its Pods
// Running and ready: each iteration pushes examples/manifests/web.yaml to a repository where it
// is absent and waits until both Pods run; removing it again is not timed. The sub-benchmarks
// differ in what notices the push: polling every 5s (the default), every 200ms, or the
// post-receive hook of `gitfleet hook install` with polling effectively off (1h).
//
//	go test -run '^$' -bench BenchmarkPushToRunning -benchtime 5x ./cmd/gitfleet/
func BenchmarkPushToRunning(b *testing.B) {
	if !netnstest.RunB(b) {
		return
	}
	testenv.RequireContainerd(b)
	for _, poll := range []time.Duration{5 * time.Second, 200 * time.Millisecond} {
		b.Run("poll="+poll.String(), func(b *testing.B) { benchPushToRunning(b, poll, false) })
	}
	b.Run("hook", func(b *testing.B) { benchPushToRunning(b, time.Hour, true) })
}

func benchPushToRunning(b *testing.B, poll time.Duration, hook bool) {
	// Each iteration deletes the example again, every object of the repository: allow that.
	c, remote := newCluster(b, "--poll", poll.String(), "--allow-mass-prune")
	if hook {
		if out, err := c.cli("hook", "install", remote.URL(), "--timeout", "90s"); err != nil {
			b.Fatalf("hook install: %v\n%s", err, out)
		}
	}
	ns := namespaceOf(c)
	example := readFile(b, "../../examples/manifests/web.yaml")
	remote.Remove("deploy/web.yaml")
	remote.Write("deploy/.keep", "")
	remote.CommitAndPush("start empty")
	c.start()
	c.waitFor("empty start", 60*time.Second, func() error { return c.podCount(0) })
	st := c.connect()
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		remote.Write("deploy/web.yaml", example)
		start := time.Now()
		remote.CommitAndPush(fmt.Sprintf("web %d", i))
		c.waitForFast("2 pods running", 2*time.Minute, func() error { return runningInStore(st, 2) })
		took = append(took, time.Since(start))
		b.StopTimer()
		remote.Remove("deploy/web.yaml")
		remote.CommitAndPush(fmt.Sprintf("no web %d", i))
		c.waitFor("pods and containers gone", 60*time.Second, func() error {
			if left := containers(b, ns); len(left) != 0 {
				return fmt.Errorf("containers left: %v", left)
			}
			return c.podCount(0)
		})
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
	b.Logf("push to running over %d runs: %v", len(took), took)
}

// runningInStore reads etcd directly, so the measurement does not include a CLI start.
func runningInStore(st *store.Store, n int) error { return runningElsewhere(st, n, "") }
