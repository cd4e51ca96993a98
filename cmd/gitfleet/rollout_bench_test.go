package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// benchRolloutReplicas is the size of BenchmarkRollout, the issue's.
const benchRolloutReplicas = 100

// BenchmarkRollout measures, with the built binary, the time from a push to 100 Pods of web
// ready, started from nothing (start-ms), and the time from a push that changes their template
// to all 100 replaced and ready (replace-ms), 25 %/25 %, with Pods that stop on SIGTERM; each
// from the push, so both include the sync's poll (200 ms). ratio is replace over start; the
// goal is under 2. Each iteration after the first scales web to 0 and waits for its containers
// to be gone first (not timed). It also reports the bounds the watch saw during the replace.
//
//	go test -run '^$' -bench BenchmarkRollout -benchtime 1x ./cmd/gitfleet/
func BenchmarkRollout(b *testing.B) {
	testenv.RequireContainerd(b)
	if !netnstest.RunB(b) {
		return
	}
	n := benchRolloutReplicas
	var starts, replaces []time.Duration
	e, started := startRollout(b, n)
	maxPods, minReady := 0, n
	for i := range b.N {
		if i > 0 {
			e.remote.Write("deploy/web.yaml", rolloutManifest(0, "v0", "gitfleet.local/busybox:1", 600))
			e.remote.CommitAndPush("web: 0 replicas")
			ns := namespaceOf(e.c)
			e.c.waitFor("no container left", 5*time.Minute, func() error {
				if left := containers(b, ns); len(left) > 0 {
					return fmt.Errorf("%d containers left", len(left))
				}
				return nil
			})
			start := time.Now()
			e.remote.Write("deploy/web.yaml", rolloutManifest(n, "v0", "gitfleet.local/busybox:1", 600))
			e.remote.CommitAndPush(fmt.Sprintf("web: %d replicas", n))
			e.hash = e.w.waitAll(e.c, n, e.hash, 5*time.Minute)
			started = time.Since(start)
		}
		starts = append(starts, started)
		replaces = append(replaces, e.replace(n, fmt.Sprintf("v%d", i+2)))
		mp, mr, _ := e.w.bounds()
		maxPods, minReady = max(maxPods, mp), min(minReady, mr)
		b.Logf("run %d: start %s, replace %s; at most %d Pods, at least %d ready", i, started.Round(time.Millisecond),
			replaces[i].Round(time.Millisecond), mp, mr)
	}
	slices.Sort(starts)
	slices.Sort(replaces)
	start, replace := starts[len(starts)/2], replaces[len(replaces)/2]
	b.ReportMetric(ms(start), "start-ms")
	b.ReportMetric(ms(replace), "replace-ms")
	b.ReportMetric(float64(replace)/float64(start), "ratio")
	b.ReportMetric(float64(maxPods), "max-pods")
	b.ReportMetric(float64(minReady), "min-ready")
}
