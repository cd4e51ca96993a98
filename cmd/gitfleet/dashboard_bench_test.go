package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// BenchmarkDashboard measures the dashboard with the built `up`, 100 Pods and headless
// Chromium: up's resident memory before any page opened and with the page open (same run),
// then, per iteration, the time from `git push` (of a ConfigMap's change, polling every 200ms)
// to etcd recording the commit applied, the baseline, and to the open page showing it.
//
//	go test -run '^$' -bench BenchmarkDashboard -benchtime 10x ./cmd/gitfleet/
func BenchmarkDashboard(b *testing.B) {
	if !netnstest.RunB(b) {
		return
	}
	chromium := testenv.RequireChromium(b)
	testenv.RequireContainerd(b)
	c, remote := newCluster(b, "--http-listen", "127.0.0.1:0")
	c.start()
	url := c.dashboardURL()
	remote.Write("deploy/sleepers.yaml", sleepers(98)) // with the example's 2: 100 Pods
	remote.CommitAndPush("98 sleepers")
	c.waitFor("100 pods running", 10*time.Minute, func() error {
		_, err := c.runningPods(100)
		return err
	})
	pid := c.cmd.Process.Pid
	time.Sleep(5 * time.Second) // the last statuses' writes settle
	closed := rssKiB(b, pid)
	br := openBrowser(b, chromium, url)
	br.wait("100 pods on the page", 60*time.Second, `document.querySelectorAll('tr.pod').length === 100`)
	time.Sleep(5 * time.Second)
	open := rssKiB(b, pid)
	b.Logf("up's VmRSS with 100 Pods (median of 5 samples a second apart): %d KiB before any page opened, %d KiB with the page open (%+d KiB)",
		closed, open, open-closed)
	b.ReportMetric(float64(closed)/1024, "MiB-rss-no-page")
	b.ReportMetric(float64(open)/1024, "MiB-rss-page-open")

	br.eval(watchPage)
	st := c.connect()
	var toApplied, toState, toPage []time.Duration
	// b.Loop runs this function once, so that the cluster above is set up once.
	for i := 0; b.Loop(); i++ {
		remote.Write("deploy/counter.yaml", counterMap(i))
		commit := remote.CommitAndPush("counter " + strconv.Itoa(i))
		pushed := time.Now()
		c.waitForFast("the commit applied in etcd", 60*time.Second, func() error {
			s, err := st.GetSync(context.Background(), api.DefaultSource)
			if err != nil || s.AppliedCommit != commit {
				return fmt.Errorf("applied %q, %v", s.AppliedCommit, err)
			}
			return nil
		})
		toApplied = append(toApplied, time.Since(pushed))
		br.wait("the commit on the page", 60*time.Second, appliedIs(commit))
		shown := br.evalInt(`window.__appliedAt[` + jsString(commit) + `]`)
		built := br.evalInt(`window.__builtAt[` + jsString(commit) + `]`)
		toPage = append(toPage, time.UnixMilli(shown).Sub(pushed))
		toState = append(toState, time.UnixMilli(built).Sub(pushed))
	}
	b.Logf("push to applied in etcd: p50 %s, max %s; to the dashboard's state with it built: p50 %s, max %s; to the page showing it: p50 %s, max %s (%d pushes)",
		p50(toApplied), slices.Max(toApplied), p50(toState), slices.Max(toState), p50(toPage), slices.Max(toPage), len(toPage))
	b.ReportMetric(float64(p50(toApplied).Milliseconds()), "ms-push-to-etcd-p50")
	b.ReportMetric(float64(p50(toState).Milliseconds()), "ms-push-to-state-p50")
	b.ReportMetric(float64(p50(toPage).Milliseconds()), "ms-push-to-page-p50")

	// The agent stops the sleepers, each Pod on its own worker, faster than the test's
	// cleanup would one by one.
	remote.Remove("deploy/sleepers.yaml")
	remote.CommitAndPush("no sleepers")
	ns := namespaceOf(c)
	c.waitFor("the sleepers' containers gone", 5*time.Minute, func() error {
		if n := len(containers(b, ns)); n != 2 {
			return fmt.Errorf("%d containers", n)
		}
		return nil
	})
}

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// rssKiB is the resident memory of process pid, from /proc/PID/status: the median of five
// samples a second apart.
func rssKiB(b *testing.B, pid int) int {
	b.Helper()
	var samples []int
	for i := range 5 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		samples = append(samples, vmRSS(b, pid))
	}
	slices.Sort(samples)
	return samples[2]
}

func vmRSS(b *testing.B, pid int) int {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				b.Fatalf("parse VmRSS %q: %v", rest, err)
			}
			return n
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// sleepers is a Deployment of n Pods that sleep and request nothing, so that 100 fit on one
// node of the test; sleep ignores SIGTERM, so they are killed after a second.
func sleepers(n int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: sleepers
spec:
  replicas: %d
  selector:
    matchLabels:
      app: sleepers
  template:
    metadata:
      labels:
        app: sleepers
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: sleep
          image: %s
          command: ["sleep", "3600"]
`, n, "gitfleet.local/busybox:1")
}

// counterMap is a ConfigMap no Pod reads, changed by each push.
func counterMap(i int) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: counter\ndata:\n  n: %q\n", strconv.Itoa(i))
}
