package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/store"
)

// The scenario of the issue "A real cluster".
const (
	replicas = 9
	// nodeLossBound is the correctness bound on the time from a node's loss to its Pods Running
	// elsewhere. The target is 10s; it is measured and reported, not asserted, because
	// this machine is shared and noisy.
	nodeLossBound = 30 * time.Second
)

// webManifest is the example's busybox web server with n replicas. Its shell stops at SIGTERM
// (as PID 1 it would ignore it and wait out the agent's 10s grace), so Pods go quickly.
func webManifest(n int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: %d
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: httpd
          image: gitfleet.local/busybox:1
          command: ["sh", "-c"]
          args:
            - trap 'exit 0' TERM; mkdir -p /tmp/www && echo "hello from $(hostname)" > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www & wait
          ports:
            - containerPort: 8080
          resources:
            requests:
              cpu: 10m
              memory: 8Mi
            limits:
              cpu: 200m
              memory: 32Mi
`, n)
}

// TestThreeHosts is the end-to-end test: three hosts, each a network namespace on a
// switch with its own containerd; up on a, agents on b and c. A 9-replica Deployment spreads
// 3/3/3 with Pod IPs in their node's range; a Pod on a reaches a Pod on c over HTTP (once the
// agent routes Pod ranges); c's agent is killed and its cable pulled, and its Pods run on a and
// b within nodeLossBound with never more than 9+3 containers running; c comes back and its
// stale containers go; a wrong join token is refused.
func TestThreeHosts(t *testing.T) {
	testenv.RequireDaemon(t)
	if !netnstest.Run(t) {
		return
	}
	f, nodes, pods := startThreeHosts(t)
	a, c := f.host("a"), f.host("c")
	f.crossNodeHTTP(pods, nodes, a, c)
	took := f.loseAndRecover(c)
	t.Logf("node loss to %d Pods Running elsewhere: %s (the issue's target: 10s)", replicas, took.Round(10*time.Millisecond))
	f.wrongTokenRefused()
	f.removeAll()
}

// BenchmarkNodeLoss measures the time from a node's loss (agent killed, cable pulled) to its
// Pods Running on the other nodes, on one three-host cluster; between runs c comes back and the
// Deployment is respread 3/3/3 (not timed). It reports the minimum, median and maximum; ns/op
// also counts c's return.
//
//	go test -run '^$' -bench BenchmarkNodeLoss -benchtime 5x ./cmd/gitfleet/
func BenchmarkNodeLoss(b *testing.B) {
	testenv.RequireDaemon(b)
	if !netnstest.RunB(b) {
		return
	}
	f, _, _ := startThreeHosts(b)
	c := f.host("c")
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i > 0 {
			b.StopTimer()
			f.respread()
			b.StartTimer()
		}
		took = append(took, f.loseAndRecover(c))
	}
	b.StopTimer()
	sorted := slices.Sorted(slices.Values(took))
	b.ReportMetric(sorted[0].Seconds(), "min-s")
	b.ReportMetric(sorted[len(sorted)/2].Seconds(), "median-s")
	b.ReportMetric(sorted[len(sorted)-1].Seconds(), "max-s")
}

// startThreeHosts starts up on a and agents on b and c, waits for three Ready nodes with
// distinct Pod ranges, deploys the web server and waits for it to run 3/3/3, each Pod's IP in
// its node's range.
func startThreeHosts(tb testing.TB) (*fleet, map[string]fleetNode, []podJSON) {
	f := newFleet(tb, "a", "b", "c")
	f.startUp()
	for _, h := range f.hosts[1:] {
		f.startAgent(h)
	}
	nodes := f.waitNodes(len(f.hosts))
	f.deploy(replicas)
	return f, nodes, f.waitSpread(nodes)
}

// waitNodes waits until n nodes are Ready, each with its own Pod range; it returns them by name.
func (f *fleet) waitNodes(n int) map[string]fleetNode {
	byName := map[string]fleetNode{}
	f.waitFor(fmt.Sprintf("%d nodes Ready with distinct Pod ranges", n), 60*time.Second, func() error {
		nodes, err := f.nodes()
		if err != nil {
			return err
		}
		clear(byName)
		ranges := map[string]string{}
		for _, nd := range nodes {
			name, cidr := nd.Metadata.Name, nd.Spec.PodCIDR
			if !nd.Status.Ready || cidr == "" {
				return fmt.Errorf("node %s: ready %t, pod range %q", name, nd.Status.Ready, cidr)
			}
			if other, ok := ranges[cidr]; ok {
				return fmt.Errorf("nodes %s and %s share the Pod range %s", other, name, cidr)
			}
			ranges[cidr], byName[name] = name, nd
		}
		if len(byName) != n {
			return fmt.Errorf("%d nodes, want %d: %v", len(byName), n, ranges)
		}
		return nil
	})
	f.t.Logf("nodes: %v", ranges(byName))
	return byName
}

func ranges(nodes map[string]fleetNode) []string {
	var out []string
	for name, nd := range nodes {
		out = append(out, name+"="+nd.Spec.PodCIDR)
	}
	slices.Sort(out)
	return out
}

// deploy pushes the web server with n replicas.
func (f *fleet) deploy(n int) {
	f.remote.Write("deploy/web.yaml", webManifest(n))
	f.remote.CommitAndPush(fmt.Sprintf("web: %d replicas", n))
}

// waitSpread waits until every replica runs, as many on each host, and checks that each Pod's
// IP lies in its node's Pod range.
func (f *fleet) waitSpread(nodes map[string]fleetNode) []podJSON {
	var pods []podJSON
	f.waitFor(fmt.Sprintf("%d pods running, spread evenly", replicas), 120*time.Second, func() (err error) {
		if pods, err = f.runningPods(replicas); err != nil {
			return err
		}
		per := perNode(pods)
		for _, h := range f.hosts {
			if per[h.Name] != replicas/len(f.hosts) {
				return fmt.Errorf("pods per node %v, want %d each", per, replicas/len(f.hosts))
			}
		}
		return nil
	})
	for _, p := range pods {
		nd := nodes[p.Spec.NodeName]
		if !inRange(p.Status.PodIP, nd.Spec.PodCIDR) {
			f.t.Errorf("pod %s on %s has IP %s, outside its node's range %s", p.Metadata.Name, p.Spec.NodeName, p.Status.PodIP, nd.Spec.PodCIDR)
		}
	}
	f.t.Logf("%d pods running: %v", len(pods), perNode(pods))
	return pods
}

func perNode(pods []podJSON) map[string]int {
	per := map[string]int{}
	for _, p := range pods {
		per[p.Spec.NodeName]++
	}
	return per
}

func inRange(ip, cidr string) bool {
	addr, err1 := netip.ParseAddr(ip)
	prefix, err2 := netip.ParsePrefix(cidr)
	return err1 == nil && err2 == nil && prefix.Contains(addr)
}

// respread scales the web server to 0 and back, so that it runs 3/3/3 again.
func (f *fleet) respread() {
	f.deploy(0)
	f.waitNoContainers()
	nodes := f.waitNodes(len(f.hosts))
	f.deploy(replicas)
	f.waitSpread(nodes)
}

// removeAll deletes the web server: every agent removes its Pods, containers and Pod networks.
func (f *fleet) removeAll() {
	f.remote.Remove("deploy/web.yaml")
	f.remote.CommitAndPush("no web")
	f.waitNoContainers()
}

// waitNoContainers waits until no Pod, container or Pod network is left on any host.
func (f *fleet) waitNoContainers() {
	f.waitFor("no pods, containers or pod networks", 60*time.Second, func() error {
		if err := f.podCount(0); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, h := range f.hosts {
			ctrs, running, err := h.containers(ctx)
			if err != nil {
				return err
			}
			if ctrs+running > 0 {
				return fmt.Errorf("host %s: %d containers, %d running", h.Name, ctrs, running)
			}
			if left := mountsUnder(f.t, h.dataDir); len(left) > 0 {
				return fmt.Errorf("host %s: pod networks left: %v", h.Name, left)
			}
		}
		return nil
	})
}

// runningElsewhere reads etcd directly (a CLI start would weigh in the measurement): nil when
// exactly n Pods are Running and ready, none on node lost ("": any node).
func runningElsewhere(st *store.Store, n int, lost string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pods, err := st.ListPodsWithStatus(ctx)
	if err != nil {
		return err
	}
	ok := 0
	for _, p := range pods {
		if p.Status.Phase == api.PodRunning && p.Status.Ready && p.Spec.NodeName != lost {
			ok++
		}
	}
	if len(pods) != n || ok != n {
		return fmt.Errorf("%d of %d pods running off node %s, want %d", ok, len(pods), lost, n)
	}
	return nil
}

// loseAndRecover kills h's agent with SIGKILL and pulls its cable, measures the time until
// its Pods run elsewhere, then plugs h back in, restarts its agent and waits until its stale
// containers are gone. All along it counts the running containers on every host: never more
// than the replicas and h's stale ones.
func (f *fleet) loseAndRecover(h *fleetHost) time.Duration {
	f.t.Helper()
	ctx := context.Background()
	stale, _, err := h.containers(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	st := f.store()
	count := f.countContainers(100 * time.Millisecond)
	start := time.Now()
	if err := f.stop(h, syscall.SIGKILL); err != nil {
		f.t.Fatal(err)
	}
	h.Disconnect(f.t)
	f.waitForFast(fmt.Sprintf("%d pods running off node %s", replicas, h.Name), nodeLossBound,
		func() error { return runningElsewhere(st, replicas, h.Name) })
	took := time.Since(start)

	h.Reconnect(f.t)
	back := time.Now()
	f.startAgent(h)
	f.waitFor(fmt.Sprintf("node %s back without its stale containers", h.Name), 60*time.Second, func() error {
		ctrs, running, err := h.containers(ctx)
		switch {
		case err != nil:
			return err
		case ctrs+running > 0:
			return fmt.Errorf("host %s: %d stale containers, %d running", h.Name, ctrs, running)
		}
		if left := mountsUnder(f.t, h.dataDir); len(left) > 0 {
			return fmt.Errorf("host %s: stale pod networks %v", h.Name, left)
		}
		if err := runningElsewhere(st, replicas, h.Name); err != nil {
			return err
		}
		return f.nodeReady(h.Name)
	})
	p := count()
	if p.err != nil {
		f.t.Fatal(p.err)
	}
	if p.max > replicas+stale {
		f.t.Errorf("%d containers running at once (%s after the loss), want at most %d + %d", p.max, p.at.Round(time.Millisecond), replicas, stale)
	}
	f.t.Logf("node %s lost: its %d pods running elsewhere after %s; back and clean %s later; at most %d containers running at once",
		h.Name, stale, took.Round(10*time.Millisecond), time.Since(back).Round(10*time.Millisecond), p.max)
	return took
}

// peak is the most containers seen running at once, and when.
type peak struct {
	max int
	at  time.Duration
	err error
}

// countContainers samples the running containers of every host each interval until the
// returned function is called (or the test ends); that returns the peak, its time counted from
// the start.
func (f *fleet) countContainers(every time.Duration) func() peak {
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel) // a test that failed before it read the peak
	done := make(chan peak, 1)
	start := time.Now()
	go func() {
		var p peak
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			n := 0
			for _, h := range f.hosts {
				cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
				running, err := testenv.RunningTasks(cctx, h.client)
				ccancel()
				if err != nil && ctx.Err() == nil {
					p.err = fmt.Errorf("count containers on %s: %w", h.Name, err)
				}
				n += running
			}
			if n > p.max {
				p.max, p.at = n, time.Since(start)
			}
			select {
			case <-ctx.Done():
				done <- p
				return
			case <-tick.C:
			}
		}
	}()
	return func() peak {
		cancel()
		return <-done
	}
}

// podOn returns a Pod of pods on node.
func podOn(pods []podJSON, node string) (podJSON, bool) {
	for _, p := range pods {
		if p.Spec.NodeName == node {
			return p, true
		}
	}
	return podJSON{}, false
}

// nodeReady is nil when node is Ready.
func (f *fleet) nodeReady(node string) error {
	nodes, err := f.nodes()
	if err != nil {
		return err
	}
	for _, nd := range nodes {
		if nd.Metadata.Name == node && nd.Status.Ready {
			return nil
		}
	}
	return fmt.Errorf("node %s is not Ready", node)
}
