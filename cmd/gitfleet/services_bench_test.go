package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/store"
)

// readyPods is how many Pods BenchmarkReadyToRules times.
const readyPods = 100

// BenchmarkReadyToRules measures, on two hosts (up on a, an agent on b), the time from a Pod
// becoming ready (its agent's status write, seen by a watch of this process) to its address in
// the kernel rules of every node (seen by `nft list ruleset` on each host, polled every 20 ms,
// which bounds the resolution), for 100 Pods of one Service scaled up from 0 at once; between
// runs it scales back to 0 (not timed). It reports the p50 and p99 over the Pods of all runs.
//
//	go test -run '^$' -bench BenchmarkReadyToRules -benchtime 1x ./cmd/gitfleet/
func BenchmarkReadyToRules(b *testing.B) {
	testenv.RequireDaemon(b)
	if !netnstest.RunB(b) {
		return
	}
	f := newFleet(b, "a", "b")
	f.startUp()
	f.startAgent(f.host("b"))
	f.waitNodes(2)
	st := f.store()
	var lags, toRecord []time.Duration
	for i := range b.N {
		if i > 0 {
			f.remote.Write("deploy/web.yaml", servicesManifest(0))
			f.remote.CommitAndPush("web: 0 replicas")
			f.waitService("web", 0)
			f.waitFor("no endpoint left in any host's rules", 60*time.Second, func() error {
				for _, h := range f.hosts {
					if out := h.Exec(f.t, "nft", "list", "ruleset"); strings.Contains(out, ":8080") {
						return fmt.Errorf("host %s still forwards to port 8080", h.Name)
					}
				}
				return nil
			})
		}
		rules, record := f.readyToRules(st)
		lags, toRecord = append(lags, rules...), append(toRecord, record...)
	}
	slices.Sort(lags)
	slices.Sort(toRecord)
	b.ReportMetric(ms(lags[len(lags)/2]), "p50-ms")
	b.ReportMetric(ms(lags[len(lags)*99/100]), "p99-ms")
	b.ReportMetric(ms(toRecord[len(toRecord)/2]), "record-p50-ms")
	b.ReportMetric(ms(toRecord[len(toRecord)*99/100]), "record-p99-ms")
	b.ReportMetric(float64(len(lags)), "pods")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// readyToRules scales web to readyPods and returns, for each Pod, the time from its ready
// status to its address in every host's rules, and to its address ready in the Service's
// endpoints record (the part of the way the control plane takes).
func (f *fleet) readyToRules(st *store.Store) (rules, record []time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rev, err := st.Revision(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	var mu sync.Mutex
	ready := map[string]time.Time{}      // Pod IP -> when its ready status was seen
	programmed := map[string]time.Time{} // Pod IP -> when every host's rules had it
	recorded := map[string]time.Time{}   // Pod IP -> when the endpoints record had it ready
	go func() {
		for ev := range st.Watch(ctx, store.Endpoints, rev) {
			var e api.Endpoints
			if ev.Deleted || json.Unmarshal(ev.Value, &e) != nil {
				continue
			}
			now := time.Now()
			mu.Lock()
			for _, ep := range e.Endpoints {
				if _, ok := recorded[ep.IP]; !ok && ep.Ready {
					recorded[ep.IP] = now
				}
			}
			mu.Unlock()
		}
	}()
	go func() {
		for ev := range st.Watch(ctx, store.PodStatus, rev) {
			var s api.PodStatus
			if ev.Deleted || json.Unmarshal(ev.Value, &s) != nil || !s.Ready || s.PodIP == "" {
				continue
			}
			mu.Lock()
			if _, ok := ready[s.PodIP]; !ok {
				ready[s.PodIP] = time.Now()
			}
			mu.Unlock()
		}
	}()
	f.remote.Write("deploy/web.yaml", servicesManifest(readyPods))
	f.remote.CommitAndPush(fmt.Sprintf("web: %d replicas", readyPods))
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		rules := make([]string, len(f.hosts))
		for i, h := range f.hosts {
			out, err := h.Command("nft", "list", "ruleset").CombinedOutput()
			if err != nil {
				f.t.Fatalf("nft list ruleset on %s: %v: %s", h.Name, err, out)
			}
			rules[i] = string(out)
		}
		now := time.Now()
		mu.Lock()
		for ip := range ready {
			if _, ok := programmed[ip]; !ok && inAll(rules, ip) {
				programmed[ip] = now
			}
		}
		done := len(programmed) == readyPods
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(programmed) != readyPods {
		f.t.Fatalf("%d of %d Pods ready and in every host's rules after 5 minutes", len(programmed), readyPods)
	}
	for ip, at := range programmed {
		rules = append(rules, max(0, at.Sub(ready[ip])))
		record = append(record, max(0, recorded[ip].Sub(ready[ip])))
	}
	return rules, record
}

// inAll reports whether every ruleset names ip as a whole address (10.244.0.1 is not in
// 10.244.0.10).
func inAll(rulesets []string, ip string) bool {
	for _, r := range rulesets {
		if !strings.Contains(r, ip+":") && !strings.Contains(r, ip+" ") && !strings.Contains(r, ip+"\n") {
			return false
		}
	}
	return true
}
