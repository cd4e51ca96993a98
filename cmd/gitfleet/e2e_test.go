package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent/containerd"
)

// newCluster prepares a data dir with the example image and a git remote holding the example
// manifest, inside the test's own network namespace, with its own containerd namespace.
func newCluster(t testing.TB, extra ...string) (*cluster, *gittest.Remote) {
	t.Helper()
	bin := buildBinary(t)
	dataDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dataDir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := testimage.Build(filepath.Join(dataDir, "images", "busybox.tar"), testimage.Ref); err != nil {
		t.Fatal(err)
	}
	remote := gittest.NewRemote(t)
	remote.Write("deploy/web.yaml", readFile(t, "../../examples/manifests/web.yaml"))
	remote.CommitAndPush("example web")
	ns := testenv.Namespace(t, testenv.RequireContainerd(t))
	c := &cluster{t: t, bin: bin, dataDir: dataDir, args: append([]string{
		"--repo", remote.URL(), "--poll", "200ms", "--containerd-namespace", ns, "--node-name", "e2e",
	}, extra...)}
	// Cleanups run last-registered first: up stops (start registers that), then Pod network
	// namespaces left by a failed test are unmounted, then the containerd namespace is wiped.
	t.Cleanup(func() {
		removePods(t, ns, dataDir)
		unmountUnder(t, dataDir)
	})
	return c, remote
}

// containers lists the containerd containers in ns.
func containers(t testing.TB, ns string) []string {
	t.Helper()
	out, err := exec.Command("ctr", "-n", ns, "containers", "ls", "-q").Output()
	if err != nil {
		t.Fatalf("ctr containers ls: %v", err)
	}
	ids := strings.Fields(string(out))
	sort.Strings(ids)
	return ids
}

func namespaceOf(c *cluster) string {
	for i, a := range c.args {
		if a == "--containerd-namespace" {
			return c.args[i+1]
		}
	}
	return ""
}

// serveAll checks that every Pod answers HTTP at its own IP with its own name.
func serveAll(ctx context.Context, pods []podJSON) error {
	for _, p := range pods {
		body, err := netnstest.Get(ctx, "http://"+p.Status.PodIP+":8080/")
		if err != nil {
			return fmt.Errorf("pod %s at %s: %w", p.Metadata.Name, p.Status.PodIP, err)
		}
		if want := "hello from " + p.Metadata.Name; strings.TrimSpace(body) != want {
			return fmt.Errorf("pod %s answered %q, want %q", p.Metadata.Name, body, want)
		}
	}
	return nil
}

func podNames(pods []podJSON) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Metadata.Name)
	}
	sort.Strings(names)
	return names
}

// TestEndToEnd drives the built binary through a user's day: push, serve, scale, crash, bad
// commit, delete.
func TestEndToEnd(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	ctx := context.Background()
	c, remote := newCluster(t)
	ns := namespaceOf(c)
	c.start()

	var pods []podJSON
	c.waitFor("2 pods running", 90*time.Second, func() (err error) {
		pods, err = c.runningPods(2)
		return err
	})
	c.waitFor("2 pods serve HTTP", 30*time.Second, func() error { return serveAll(ctx, pods) })
	t.Logf("2 pods serve: %s=%s %s=%s", pods[0].Metadata.Name, pods[0].Status.PodIP, pods[1].Metadata.Name, pods[1].Status.PodIP)
	if pods[0].Status.PodIP == pods[1].Status.PodIP {
		t.Fatalf("both pods have IP %s", pods[0].Status.PodIP)
	}
	c.waitFor("the agent masquerades Pods leaving the cluster", 10*time.Second, masqueradeProgrammed)
	onlyWithCertificates(t, c.dataDir)
	logsOnLoopback(t, c, pods[0].Metadata.Name)

	remote.Write("deploy/web.yaml", strings.Replace(readFile(t, "../../examples/manifests/web.yaml"), "replicas: 2", "replicas: 3", 1))
	scaled := remote.CommitAndPush("scale to 3")
	c.waitFor("3 pods running", 60*time.Second, func() (err error) {
		pods, err = c.runningPods(3)
		return err
	})
	c.waitFor("3 pods serve HTTP", 30*time.Second, func() error { return serveAll(ctx, pods) })
	st, err := c.status()
	if err != nil || st.AppliedCommit != scaled || st.Sync != "Synced" {
		t.Fatalf("status after scale = %+v, %v; want Synced at %s", st, err, scaled)
	}

	t.Logf("scaled to 3 at %s: %v", scaled[:8], podNames(pods))
	// SIGKILL: nothing is lost, the next up adopts the same 3 containers.
	before := containers(t, ns)
	if len(before) != 3 {
		t.Fatalf("containers before kill = %v, want 3", before)
	}
	c.stop(syscall.SIGKILL)
	t.Logf("killed up with SIGKILL; containers %v", before)
	c.start()
	c.waitFor("3 pods running after restart", 60*time.Second, func() error {
		again, err := c.runningPods(3)
		if err != nil {
			return err
		}
		if got, want := podNames(again), podNames(pods); strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Errorf("pods after restart %v, want %v", got, want)
		}
		return serveAll(ctx, again)
	})
	time.Sleep(2 * time.Second) // give a duplicating agent the chance to show itself
	if after := containers(t, ns); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("containers after restart = %v, want the same %v", after, before)
	}

	logsOnLoopback(t, c, pods[0].Metadata.Name)
	t.Logf("restarted: same pods and containers adopted; logs served again")
	// A broken manifest: status names file and line, the 3 Pods keep running.
	remote.Write("deploy/broken.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: 1\n  replicaz: 2\n")
	remote.CommitAndPush("broken")
	c.waitFor("status shows the broken file", 30*time.Second, func() error {
		st, err := c.status()
		if err != nil {
			return err
		}
		if st.Sync != "Failed" || st.AppliedCommit != scaled || len(st.Errors) == 0 {
			return fmt.Errorf("status %+v", st)
		}
		for _, e := range st.Errors {
			if e.File == "deploy/broken.yaml" && e.Line == 7 && strings.Contains(e.Message, "unknown field") {
				return nil
			}
		}
		return fmt.Errorf("no error at deploy/broken.yaml:7 in %+v", st.Errors)
	})
	if _, err := c.runningPods(3); err != nil {
		t.Fatalf("after broken commit: %v", err)
	}
	if err := serveAll(ctx, pods); err != nil {
		t.Fatalf("after broken commit: %v", err)
	}

	t.Logf("broken commit reported at deploy/broken.yaml:7; 3 pods still serve")
	// Deleting the files removes the Pods and their containers, once allowed: a commit that
	// deletes every object is refused until a sync allows it.
	remote.Remove("deploy/broken.yaml")
	remote.Remove("deploy/web.yaml")
	remote.Write("deploy/.keep", "")
	removed := remote.CommitAndPush("remove web")
	c.waitFor("the mass prune refused", 30*time.Second, func() error {
		st, err := c.status()
		if err != nil {
			return err
		}
		if st.Sync != "Failed" || st.SeenCommit != removed || st.AppliedCommit != scaled {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	if _, err := c.runningPods(3); err != nil {
		t.Fatalf("after the refused prune: %v", err)
	}
	if out, err := c.cli("sync", "--allow-mass-prune"); err != nil {
		t.Fatalf("sync --allow-mass-prune: %v\n%s", err, out)
	}
	c.waitFor("pods and containers gone", 60*time.Second, func() error {
		p, err := c.pods()
		if err != nil {
			return err
		}
		if len(p) != 0 {
			return fmt.Errorf("%d pods left", len(p))
		}
		if left := containers(t, ns); len(left) != 0 {
			return fmt.Errorf("containers left: %v", left)
		}
		if left := mountsUnder(t, c.dataDir); len(left) != 0 {
			return fmt.Errorf("network namespaces left: %v", left)
		}
		return nil
	})

	// SIGTERM stops up cleanly and quietly.
	c.stopQuietly(syscall.SIGTERM)
}

// mountsUnder lists the mount points below dir (Pod network namespaces are bind mounts).
func mountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			out = append(out, f[1])
		}
	}
	return out
}

// removePods tears down every Pod the test's agent left (containers, network, CNI state), as the
// agent would, so nothing of it stays on the machine; it runs in the test's network namespace.
func removePods(t testing.TB, ns, dataDir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := containerd.New(ctx, containerd.Config{Namespace: ns, NodeName: "e2e",
		DataDir: dataDir, StopTimeout: time.Second}, log)
	if err != nil {
		t.Errorf("clean up pods: %v", err)
		return
	}
	defer rt.Close()
	sandboxes, err := rt.List(ctx)
	if err != nil {
		t.Errorf("clean up pods: %v", err)
		return
	}
	for _, sb := range sandboxes {
		if err := rt.RemovePod(ctx, sb.Key); err != nil {
			t.Errorf("clean up pod %s: %v", sb.Key, err)
		}
	}
}

// unmountUnder detaches what a failed test left mounted in dir, so its removal succeeds.
func unmountUnder(t testing.TB, dir string) {
	for _, m := range mountsUnder(t, dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", m, err)
		}
	}
}
