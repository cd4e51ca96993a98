package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// BenchmarkDashboard measures the dashboard with the built `up`, 100 Pods and headless
// Chromium: up's resident memory with 100 Pods in three states of the same run: an up without
// --http-listen (the baseline, run first, then removed whole), and an up with it before any page
// opened and with the page open; then, per iteration, the time from `git push` (of a
// ConfigMap's change, polling every 200ms) to etcd recording the commit applied, the baseline,
// and to the open page showing it.
//
//	go test -run '^$' -bench BenchmarkDashboard -benchtime 10x ./cmd/gitfleet/
func BenchmarkDashboard(b *testing.B) {
	if !netnstest.RunB(b) {
		return
	}
	chromium := testenv.RequireChromium(b)
	testenv.RequireContainerd(b)
	bare := rssWithoutDashboard(b)

	c, remote := newCluster(b, "--http-listen", "127.0.0.1:0")
	c.start()
	url := c.dashboardURL()
	closed := hundredPods(b, c, remote)
	br := openBrowser(b, chromium, url)
	br.wait("100 pods on the page", 60*time.Second, `document.querySelectorAll('tr.pod').length === 100`)
	time.Sleep(5 * time.Second)
	open := rssKiB(b, c.cmd.Process.Pid)
	b.Logf("up's VmRSS with 100 Pods (median of 5 samples a second apart): %d KiB without --http-listen; with it %d KiB before any page opened (%+d KiB), %d KiB with the page open (%+d KiB more, %+d KiB in all)",
		bare, closed, closed-bare, open, open-closed, open-bare)

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
	// Reported after the loop: its first b.Loop resets the timer, which drops the metrics
	// reported before.
	b.ReportMetric(float64(bare)/1024, "MiB-rss-no-dashboard")
	b.ReportMetric(float64(closed)/1024, "MiB-rss-no-page")
	b.ReportMetric(float64(open)/1024, "MiB-rss-page-open")

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

// hundredPods pushes 98 sleepers beside the example's 2, waits until the 100 Pods run, lets
// their last status writes settle and returns up's resident memory (rssKiB).
func hundredPods(b *testing.B, c *cluster, remote *gittest.Remote) int {
	b.Helper()
	remote.Write("deploy/sleepers.yaml", sleepers(98))
	remote.CommitAndPush("98 sleepers")
	c.waitFor("100 pods running", 10*time.Minute, func() error {
		_, err := c.runningPods(100)
		return err
	})
	time.Sleep(5 * time.Second)
	return rssKiB(b, c.cmd.Process.Pid)
}

// rssWithoutDashboard is hundredPods for an up without --http-listen, which it then removes
// whole: two ups in one network namespace would share its bridge and ports, so the next one
// starts only once this one's Pods, containers and network are gone.
func rssWithoutDashboard(b *testing.B) int {
	b.Helper()
	c, remote := newCluster(b)
	c.start()
	rss := hundredPods(b, c, remote)
	ns := namespaceOf(c)
	// The agent stops the sleepers concurrently; the cleanup below would go one by one.
	remote.Remove("deploy/sleepers.yaml")
	remote.CommitAndPush("no sleepers")
	c.waitFor("the sleepers' containers gone", 5*time.Minute, func() error {
		if n := len(containers(b, ns)); n != 2 {
			return fmt.Errorf("%d containers", n)
		}
		return nil
	})
	if err := c.stop(syscall.SIGTERM); err != nil {
		b.Fatalf("stop up: %v\n%s", err, tail(c.logs.String(), 30))
	}
	removePods(b, ns, c.dataDir)
	unmountUnder(b, c.dataDir)
	if left := containers(b, ns); len(left) != 0 {
		b.Fatalf("containers left after up stopped: %v", left)
	}
	if left := mountsUnder(b, c.dataDir); len(left) != 0 {
		b.Fatalf("mounts left after up stopped: %v", left)
	}
	resetNetns(b)
	return rss
}

// resetNetns removes every link but lo and every nftables rule of the test's own network
// namespace (the bridges, the service link, the masquerade and proxy tables, CNI's chains),
// and checks that none is left.
func resetNetns(b *testing.B) {
	b.Helper()
	if os.Getenv(netnstest.EnvVar) == "" {
		b.Fatal("resetNetns outside the test's network namespace")
	}
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		b.Fatalf("ip link show: %v", err)
	}
	for line := range strings.Lines(string(out)) {
		// "7: gitfleet0: <...>" or "9: veth1@if2: <...>"
		name, _, _ := strings.Cut(strings.TrimSpace(strings.SplitN(line, ":", 3)[1]), "@")
		if name == "lo" {
			continue
		}
		// Deleting one end of a veth pair deletes the other, listed too.
		if out, err := exec.Command("ip", "link", "del", name).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
			b.Fatalf("ip link del %s: %v: %s", name, err, out)
		}
	}
	if out, err := exec.Command("nft", "flush", "ruleset").CombinedOutput(); err != nil {
		b.Fatalf("nft flush ruleset: %v: %s", err, out)
	}
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	rules, _ := exec.Command("nft", "list", "ruleset").Output()
	if strings.Count(string(links), "\n") != 1 || strings.TrimSpace(string(rules)) != "" {
		b.Fatalf("the network namespace is not empty:\n%s\n%s", links, rules)
	}
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
