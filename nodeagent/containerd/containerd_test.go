package containerd

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
)

// TestContainerd runs the real runtime against the machine's containerd, in a containerd
// namespace and a network namespace of its own: Pods get addresses on the bridge and serve
// HTTP, crashed containers restart, a second runtime (an agent restart) adopts what runs, and
// removal leaves nothing behind, while containers gitfleet does not own are never touched.
func TestContainerd(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)
	cfg := rt.cfg
	ctx := t.Context()

	names, err := rt.ImportArchive(ctx, testimage.BuildBusybox(t, t.TempDir()))
	if err != nil || !slices.Equal(names, []string{testimage.Ref}) {
		t.Fatalf("import: %q, %v", names, err)
	}
	if _, err := rt.image(ctx, api.Container{Name: "c", Image: testimage.Ref}); err != nil {
		t.Fatalf("ensure imported image: %v", err)
	}
	foreign := startForeign(t, rt.client, "foreign", nil)
	otherNode := startForeign(t, rt.client, "other-node", containerLabels("node-b", api.PodKey{Namespace: "default", Name: "web-a"}, "httpd", "x", podNet{}))

	webA, webB := httpPod("web-a", "", 8080), httpPod("web-b", "", 8080)
	webB.Spec.Containers[0].Ports[0].HostPort = 18080
	crash := commandPod("crash", api.RestartAlways, "echo started; exit 3")
	job := commandPod("job", api.RestartNever, "echo done")
	wanted := []*api.Pod{webA, webB, crash, job}
	ips := map[string]string{}

	t.Run("create", func(t *testing.T) {
		for _, p := range []*api.Pod{webA, webB} {
			ip, err := rt.EnsurePod(ctx, p)
			if err != nil {
				t.Fatalf("ensure %s: %v", p.Metadata.Name, err)
			}
			if !podCIDR(t).Contains(net.ParseIP(ip)) {
				t.Fatalf("pod IP %q is not in %s", ip, podnet.DefaultPodCIDR)
			}
			ips[p.Metadata.Name] = ip
		}
		if ips["web-a"] == ips["web-b"] {
			t.Fatalf("both pods got %s", ips["web-a"])
		}
		for name, ip := range ips {
			waitFor(t, 20*time.Second, "GET "+name, func() error {
				return getBody(ctx, "http://"+ip+":8080/", name+" "+name)
			})
		}
		ip, err := rt.EnsurePod(ctx, webA)
		if err != nil || ip != ips["web-a"] {
			t.Fatalf("ensure again: %q, %v; want %s", ip, err, ips["web-a"])
		}
	})
	if t.Failed() {
		return
	}

	t.Run("failed create leaves nothing", func(t *testing.T) {
		noImage := httpPod("no-image", "", 8080)
		noImage.Spec.Containers[0].Image = "gitfleet.local/missing:1"
		badLimit := httpPod("bad-limit", "", 8080) // fails after its network is up
		badLimit.Spec.Containers[0].Resources.Limits[api.ResourceMemory] = "0"
		for _, p := range []*api.Pod{noImage, badLimit} {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := rt.EnsurePod(cctx, p)
			cancel()
			if err == nil {
				t.Fatalf("broken pod %s was created", p.Metadata.Name)
			}
			t.Logf("%s: %v", p.Metadata.Name, err)
			if _, ok := sandboxByKey(t, rt, api.PodKeyOf(p)); ok || fileExists(netnsDir(rt, api.PodKeyOf(p))) {
				t.Fatalf("failed pod %s left a sandbox behind", p.Metadata.Name)
			}
		}
	})

	t.Run("start failure backs off", func(t *testing.T) {
		testStartFailure(t, rt)
	})

	t.Run("spec", func(t *testing.T) {
		ctr, err := rt.client.LoadContainer(ctx, containerID(api.PodKeyOf(webA), "httpd"))
		if err != nil {
			t.Fatal(err)
		}
		spec, err := ctr.Spec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cpu, mem := spec.Linux.Resources.CPU, spec.Linux.Resources.Memory
		if *cpu.Quota != 50_000 || *cpu.Period != cfsPeriod || *mem.Limit != 64<<20 {
			t.Errorf("limits: quota %d period %d memory %d", *cpu.Quota, *cpu.Period, *mem.Limit)
		}
		if spec.Process.Args[0] != "/bin/busybox" || spec.Process.Args[1] != "sh" || spec.Hostname != "web-a" {
			t.Errorf("process %q hostname %q", spec.Process.Args, spec.Hostname)
		}
	})

	t.Run("host port", func(t *testing.T) {
		waitFor(t, 10*time.Second, "GET hostPort", func() error {
			return getBody(ctx, "http://10.244.0.1:18080/", "web-b web-b")
		})
	})

	t.Run("plan keeps what runs", func(t *testing.T) {
		if got := pass(t, rt, webA, webB); len(got) != 0 {
			t.Fatalf("steady state applied %q", got)
		}
		sbs, err := rt.List(ctx)
		if err != nil || len(sbs) != 2 {
			t.Fatalf("list: %+v, %v", sbs, err)
		}
		for _, sb := range sbs {
			st := nodeagent.StatusOf(map[string]*api.Pod{"web-a": webA, "web-b": webB}[sb.Key.Name], sbs)
			if st.Phase != api.PodRunning || !st.Ready || st.PodIP != ips[sb.Key.Name] {
				t.Errorf("status of %s: %+v", sb.Key, st)
			}
		}
	})

	t.Run("restart", func(t *testing.T) {
		testRestart(t, rt, wanted, ips)
	})

	t.Run("adopt after agent restart", func(t *testing.T) {
		rt2 := newTestRuntime(t, cfg)
		before, _ := rt.List(ctx)
		after, err := rt2.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 4 || len(after) != len(before) {
			t.Fatalf("new runtime lists %d sandboxes, old %d", len(after), len(before))
		}
		for i := range after {
			a, b := after[i], before[i]
			if a.Key != b.Key || a.PodIP != b.PodIP || a.Containers[0].ID != b.Containers[0].ID ||
				a.Containers[0].RestartCount != b.Containers[0].RestartCount {
				t.Errorf("adopted %+v, was %+v", a, b)
			}
		}
		for _, s := range nodeagent.Plan(wanted, after, time.Now()) {
			if s.Action != nodeagent.ActionKeep && s.Key != api.PodKeyOf(crash) {
				t.Errorf("after agent restart: %s", s)
			}
		}
		if ip, err := rt2.EnsurePod(ctx, webB); err != nil || ip != ips["web-b"] {
			t.Errorf("ensure through the new runtime: %q, %v", ip, err)
		}
	})

	t.Run("lost network", func(t *testing.T) {
		ips["web-b"] = testLostNetwork(t, rt, wanted, ips["web-b"])
	})

	t.Run("remove", func(t *testing.T) {
		testRemove(t, rt, webA, ips["web-a"])
	})

	t.Run("orphan network", func(t *testing.T) {
		ghost := httpPod("ghost", "", 8080)
		if _, err := rt.net.Setup(ctx, sandboxID(api.PodKeyOf(ghost)), ghost); err != nil {
			t.Fatal(err)
		}
		sb, ok := sandboxByKey(t, rt, api.PodKeyOf(ghost))
		if !ok || len(sb.Containers) != 0 || sb.SpecHash != "" {
			t.Fatalf("orphan network listed as %+v, %v", sb, ok)
		}
		if got := pass(t, rt, webB); !slices.Equal(got, []string{"remove default/crash", "remove default/ghost", "remove default/job"}) {
			t.Fatalf("applied %q", got)
		}
		if fileExists(netnsDir(rt, api.PodKeyOf(ghost))) {
			t.Fatal("orphan network still there")
		}
	})

	t.Run("host network", func(t *testing.T) {
		port := freePort(t)
		p := httpPod("host", "127.0.0.1:", port)
		p.Spec.HostNetwork = true
		ip, err := rt.EnsurePod(ctx, p)
		if err != nil || ip != "" {
			t.Fatalf("ensure host network pod: %q, %v", ip, err)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", port)
		waitFor(t, 20*time.Second, "GET host network pod", func() error { return getBody(ctx, url, "host host") })
		if err := rt.RemovePod(ctx, api.PodKeyOf(p)); err != nil {
			t.Fatal(err)
		}
		if _, err := netnstest.Get(ctx, url); err == nil {
			t.Fatal("host network pod still answers after removal")
		}
	})

	t.Run("foreign containers untouched", func(t *testing.T) {
		assertRunning(t, foreign)
		assertRunning(t, otherNode)
	})
}

func podCIDR(t *testing.T) *net.IPNet {
	_, n, err := net.ParseCIDR(podnet.DefaultPodCIDR)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testRestart kills web-a's server and lets the crash Pod fail twice: each is restarted by the
// plan, with its restart count kept in labels and its output appended to one log file. The
// Never job runs once and succeeds.
func testRestart(t *testing.T, rt *Runtime, wanted []*api.Pod, ips map[string]string) {
	ctx := t.Context()
	webA, crash, job := wanted[0], wanted[2], wanted[3]
	ctr, err := rt.client.LoadContainer(ctx, containerID(api.PodKeyOf(webA), "httpd"))
	if err != nil {
		t.Fatal(err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "restarts", func() error {
		pass(t, rt, wanted...)
		return restartsAtLeast(t, rt, map[string]int32{"web-a": 1, "crash": 2})
	})
	waitFor(t, 20*time.Second, "GET web-a after restart", func() error {
		return getBody(ctx, "http://"+ips["web-a"]+":8080/", "web-a web-a")
	})
	sbs, _ := rt.List(ctx)
	if st := nodeagent.StatusOf(job, sbs); st.Phase != api.PodSucceeded || st.Restarts != 0 {
		t.Errorf("job status %+v", st)
	}
	if st := nodeagent.StatusOf(crash, sbs); st.Phase != api.PodRunning || st.Restarts < 2 {
		t.Errorf("crash status %+v", st)
	}
	// each attempt has a log of its own: the current one's, and the one before's kept
	path := logs.Path(rt.cfg.DataDir, api.PodKeyOf(crash), "main")
	for _, p := range []string{path, logs.Previous(path)} {
		if out, err := os.ReadFile(p); err != nil || string(out) != "started\n" {
			t.Errorf("crash log %s: %q, %v; want the line of one start", p, out, err)
		}
	}
}

// testStartFailure creates a Pod whose command does not exist: its container stays created with
// each attempt counted but no restart (it never ran), the plan backs off between attempts, and
// the Pod reports Pending.
func testStartFailure(t *testing.T, rt *Runtime) {
	ctx := t.Context()
	bad := commandPod("bad", api.RestartAlways, "")
	bad.Spec.Containers[0].Command = []string{"/no/such/program"}
	if _, err := rt.EnsurePod(ctx, bad); err == nil {
		t.Fatal("a pod whose program does not exist started")
	} else {
		t.Logf("start error: %v", err)
	}
	sb, ok := sandboxByKey(t, rt, api.PodKeyOf(bad))
	if !ok || sb.Containers[0].State != nodeagent.StateCreated || sb.Containers[0].StartedAt.IsZero() {
		t.Fatalf("failed start left %+v", sb)
	}
	steps := nodeagent.Plan([]*api.Pod{bad}, []nodeagent.Sandbox{sb}, time.Now())
	if len(steps) != 1 || steps[0].Action != nodeagent.ActionStart {
		t.Fatalf("first retry: %v", steps)
	}
	if err := nodeagent.Apply(ctx, rt, steps[0]); err == nil {
		t.Fatal("second start succeeded")
	}
	sb, _ = sandboxByKey(t, rt, api.PodKeyOf(bad))
	steps = nodeagent.Plan([]*api.Pod{bad}, []nodeagent.Sandbox{sb}, time.Now())
	// it never ran: no restart, yet one failed start before the latest, to back off by
	if c := sb.Containers[0]; c.RestartCount != 0 || c.FailedStarts != 1 || steps[0].Action != nodeagent.ActionKeep || steps[0].RequeueAfter <= 0 {
		t.Fatalf("after two failed starts: %+v, plan %v", sb.Containers[0], steps)
	}
	if st := nodeagent.StatusOf(bad, []nodeagent.Sandbox{sb}); st.Phase != api.PodPending || st.ContainerStatuses[0].State != "waiting" {
		t.Fatalf("status %+v", st)
	}
	if err := rt.RemovePod(ctx, api.PodKeyOf(bad)); err != nil {
		t.Fatal(err)
	}
}

// testLostNetwork unmounts web-b's network namespace, as a reboot would, and checks that the
// plan recreates the Pod with a fresh network that serves again; it returns the new IP.
func testLostNetwork(t *testing.T, rt *Runtime, wanted []*api.Pod, oldIP string) string {
	ctx := t.Context()
	webB := wanted[1]
	sb, _ := sandboxByKey(t, rt, api.PodKeyOf(webB))
	ctr, err := rt.client.LoadContainer(ctx, sb.Containers[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	path := listedLabels(ctx, ctr)[labelNetNS]
	if err := syscall.Unmount(path, syscall.MNT_DETACH); err != nil {
		t.Fatalf("unmount %s: %v", path, err)
	}
	if sb, _ = sandboxByKey(t, rt, api.PodKeyOf(webB)); !sb.NetworkLost {
		t.Fatalf("unmounted network not reported lost: %+v", sb)
	}
	got := slices.DeleteFunc(pass(t, rt, wanted...), func(s string) bool { return !strings.HasSuffix(s, " default/web-b") })
	if !slices.Equal(got, []string{"remove default/web-b", "create default/web-b"}) {
		t.Fatalf("applied %q", got)
	}
	sb, _ = sandboxByKey(t, rt, api.PodKeyOf(webB))
	if sb.NetworkLost || sb.PodIP == "" || sb.PodIP == oldIP {
		t.Fatalf("recreated pod %+v (old IP %s)", sb, oldIP)
	}
	if fileExists(ipamFile(rt, oldIP)) || fileExists(path) {
		t.Error("lost network's address or file left behind")
	}
	waitFor(t, 20*time.Second, "GET recreated web-b", func() error {
		return getBody(ctx, "http://"+sb.PodIP+":8080/", "web-b web-b")
	})
	return sb.PodIP
}

func restartsAtLeast(t *testing.T, rt *Runtime, want map[string]int32) error {
	for name, n := range want {
		sb, ok := sandboxByKey(t, rt, api.PodKey{Namespace: "default", Name: name})
		if !ok || len(sb.Containers) != 1 {
			return errdefs.ErrNotFound
		}
		if c := sb.Containers[0]; c.RestartCount < n {
			return fmt.Errorf("%s: %d restarts, %s", name, c.RestartCount, c.State)
		}
	}
	return nil
}

// testRemove removes web-a and checks that its container, task, snapshot, network namespace,
// address and iptables rules are gone, and that removing it again is no error.
func testRemove(t *testing.T, rt *Runtime, webA *api.Pod, ip string) {
	ctx := t.Context()
	key := api.PodKeyOf(webA)
	nsDir := netnsDir(rt, key)
	if !fileExists(nsDir) || !fileExists(ipamFile(rt, ip)) {
		t.Fatal("network of web-a not where expected before removal")
	}
	if err := rt.RemovePod(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.client.LoadContainer(ctx, containerID(key, "httpd")); !errdefs.IsNotFound(err) {
		t.Errorf("container still there: %v", err)
	}
	if _, err := rt.client.SnapshotService(rt.snapshotter).Stat(ctx, containerID(key, "httpd")); !errdefs.IsNotFound(err) {
		t.Errorf("snapshot still there: %v", err)
	}
	if fileExists(nsDir) || fileExists(ipamFile(rt, ip)) {
		t.Error("network namespace or address left behind")
	}
	if _, err := netnstest.Get(ctx, "http://"+ip+":8080/"); err == nil {
		t.Error("removed pod still answers")
	}
	if _, ok := sandboxByKey(t, rt, key); ok {
		t.Error("removed pod still listed")
	}
	if err := rt.RemovePod(ctx, key); err != nil {
		t.Errorf("second removal: %v", err)
	}
	rules := netnstest.Exec(t, "iptables-save")
	if strings.Contains(rules, sandboxID(key)) || strings.Contains(rules, ip+"/32") {
		t.Errorf("iptables rules of web-a left behind:\n%s", rules)
	}
}

// netnsDir and ipamFile are where a Pod's network and its address are recorded on the node,
// spelled out here: a new agent must find what an older one left.
func netnsDir(rt *Runtime, key api.PodKey) string {
	return filepath.Join(rt.cfg.DataDir, "netns", sandboxID(key))
}

func ipamFile(rt *Runtime, ip string) string {
	return filepath.Join(rt.cfg.DataDir, "cni", "gitfleet", ip)
}
