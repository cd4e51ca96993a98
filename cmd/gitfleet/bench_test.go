package main

import (
	"fmt"
	"slices"
	"strings"
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
// post-receive hook of `gitfleet hook install` with polling effectively off (1h). hook-50 pushes
// the example with 50 replicas (each asking 10m of cpu, so that all fit on the one node),
// through the hook: issue 11's push → 50 Pods Running.
//
//	go test -run '^$' -bench BenchmarkPushToRunning -benchtime 5x ./cmd/gitfleet/
func BenchmarkPushToRunning(b *testing.B) {
	if !netnstest.RunB(b) {
		return
	}
	testenv.RequireContainerd(b)
	for _, poll := range []time.Duration{5 * time.Second, 200 * time.Millisecond} {
		b.Run("poll="+poll.String(), func(b *testing.B) { benchPushToRunning(b, poll, false, 2) })
	}
	b.Run("hook", func(b *testing.B) { benchPushToRunning(b, time.Hour, true, 2) })
	b.Run("hook-50", func(b *testing.B) { benchPushToRunning(b, time.Hour, true, 50) })
}

func benchPushToRunning(b *testing.B, poll time.Duration, hook bool, replicas int) {
	// Each iteration deletes the example again, every object of the repository: allow that.
	c, remote := newCluster(b, "--poll", poll.String(), "--allow-mass-prune")
	if hook {
		if out, err := c.cli("hook", "install", remote.URL(), "--timeout", "90s"); err != nil {
			b.Fatalf("hook install: %v\n%s", err, out)
		}
	}
	ns := namespaceOf(c)
	example := readFile(b, "../../examples/manifests/web.yaml")
	if replicas != 2 {
		if !strings.Contains(example, "replicas: 2") || !strings.Contains(example, "cpu: 50m") {
			b.Fatal("the example no longer asks 2 replicas of 50m cpu each: mend hook-50")
		}
		example = strings.Replace(example, "replicas: 2", fmt.Sprintf("replicas: %d", replicas), 1)
		example = strings.Replace(example, "cpu: 50m", "cpu: 10m", 1)
	}
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
		c.waitForFast("pods running", 2*time.Minute, func() error { return runningInStore(st, replicas) })
		took = append(took, time.Since(start))
		b.StopTimer()
		remote.Remove("deploy/web.yaml")
		remote.CommitAndPush(fmt.Sprintf("no web %d", i))
		c.waitFor("pods and containers gone", 3*time.Minute, func() error {
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
