package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// benchRolloutReplicas is the size of BenchmarkRollout, the issue's.
const benchRolloutReplicas = 100

// BenchmarkRollout measures, with the built binary, the time from a push to 100 Pods of web
// ready, started from nothing (start-ms), and the time from a push that changes their template
// to all 100 replaced and ready (replace-ms), 25 %/25 %, with Pods that stop on SIGTERM; each
// from the push, so both include the sync's poll (200 ms). ratio is replace over start; the
// goal is under 2. Each iteration after the first scales web to 0 and waits for its containers
// to be gone first (not timed). It also reports the bounds the watch saw during the replace.
// With GITFLEET_ROLLOUT_TRACE=DIR it writes DIR/trace.txt, every write of a Pod or Pod status
// key from the first replace on, and DIR/up.log, to find where the time goes.
//
//	go test -run '^$' -bench BenchmarkRollout -benchtime 1x ./cmd/gitfleet/
func BenchmarkRollout(b *testing.B) {
	testenv.RequireContainerd(b)
	if !netnstest.RunB(b) {
		return
	}
	n := benchRolloutReplicas
	var starts, replaces []time.Duration
	// One node runs all 125 Pods of a 25 % surge: the kubelet's default 110 would leave 15 of
	// them Unschedulable until old ones go, which is the test's node size, not the rollout.
	e, started := startRollout(b, n, "--max-pods", "125")
	dir := os.Getenv(traceEnv)
	b.Cleanup(func() { writeUpLog(b, e.c, dir) }) // before startRollout's cleanups scale web to 0
	tr := tracePods(b.Context(), b, e.c.connect(), dir)
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
			tr.mark(fmt.Sprintf("start %d", i))
			start := time.Now()
			e.remote.Write("deploy/web.yaml", rolloutManifest(n, "v0", "gitfleet.local/busybox:1", 600))
			e.remote.CommitAndPush(fmt.Sprintf("web: %d replicas", n))
			e.hash = e.w.waitAll(e.c, n, e.hash, 5*time.Minute)
			started = time.Since(start)
		}
		starts = append(starts, started)
		tr.mark(fmt.Sprintf("replace %d", i))
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

// traceEnv names a directory BenchmarkRollout writes, when set, its trace of the Pods' keys
// (trace.txt: one line per write, milliseconds since the trace began) and the log of up
// (up.log), to find where a rollout's time goes.
const traceEnv = "GITFLEET_ROLLOUT_TRACE"

// podTrace writes one line per write of a Pod or Pod status key of web: when, what, and the
// fields that tell the step (bound node, scheduler's reason; phase and ready).
type podTrace struct {
	mu    sync.Mutex
	start time.Time
	f     *os.File
}

// tracePods starts a podTrace of st into dir, or returns nil when dir is "".
func tracePods(ctx context.Context, t testing.TB, st *store.Store, dir string) *podTrace {
	if dir == "" {
		return nil
	}
	f, err := os.Create(dir + "/trace.txt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	tr := &podTrace{start: time.Now(), f: f}
	podsPrefix, statusPrefix := store.Key(store.Pods, ""), store.Key(store.PodStatus, "")
	ch := st.Client().Watch(ctx, podsPrefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(statusPrefix)))
	go func() {
		for resp := range ch {
			for _, ev := range resp.Events {
				tr.event(ev, podsPrefix, statusPrefix)
			}
		}
	}()
	return tr
}

// mark writes a line that says what the benchmark does now.
func (tr *podTrace) mark(what string) {
	if tr == nil {
		return
	}
	tr.line("mark", what, "")
}

func (tr *podTrace) event(ev *clientv3.Event, podsPrefix, statusPrefix string) {
	key, del := string(ev.Kv.Key), ev.Type == clientv3.EventTypeDelete
	switch {
	case strings.HasPrefix(key, podsPrefix):
		name := strings.TrimPrefix(key, podsPrefix)
		if del {
			tr.line("pod-del", name, "")
			return
		}
		var p api.Pod
		_ = json.Unmarshal(ev.Kv.Value, &p)
		tr.line("pod-put", name, fmt.Sprintf("create=%v node=%s hash=%s reason=%s", ev.IsCreate(), p.Spec.NodeName,
			p.Metadata.Labels[api.LabelTemplateHash], p.Status.Reason))
	case strings.HasPrefix(key, statusPrefix):
		rest := strings.TrimPrefix(key, statusPrefix)
		name := rest[strings.Index(rest, "/")+1:]
		if del {
			tr.line("st-del", name, "")
			return
		}
		var s api.PodStatus
		_ = json.Unmarshal(ev.Kv.Value, &s)
		tr.line("st-put", name, fmt.Sprintf("phase=%s ready=%v reason=%s", s.Phase, s.IsReady(), s.Reason))
	}
}

func (tr *podTrace) line(kind, name, detail string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	fmt.Fprintf(tr.f, "%d %s %s %s\n", time.Since(tr.start).Milliseconds(), kind, name, detail)
}

// writeUpLog writes the log of c's up into dir, when dir is not "".
func writeUpLog(t testing.TB, c *cluster, dir string) {
	if dir == "" {
		return
	}
	if err := os.WriteFile(dir+"/up.log", []byte(c.logs.String()), 0o644); err != nil {
		t.Error(err)
	}
}
