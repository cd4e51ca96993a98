package containerd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
)

// TestPreStop checks that a container's preStop hook runs before its SIGTERM: the hook writes
// to the main process's output, which then exits on the signal, long before the grace ends.
func TestPreStop(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	cfg := Config{Address: addr, Namespace: testenv.Namespace(t, addr), NodeName: "node-a",
		DataDir: filepath.Join(t.TempDir(), "data")}
	rt := newTestRuntime(t, cfg)
	t.Cleanup(func() { removeAll(t, rt) })
	ctx := t.Context()
	if _, err := rt.ImportArchive(ctx, testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatalf("import: %v", err)
	}
	pod := commandPod("hooked", api.RestartAlways, `trap 'echo term; exit 0' TERM; echo ready; while true; do sleep 0.1; done`)
	pod.Spec.Containers[0].Lifecycle = &api.Lifecycle{PreStop: &api.LifecycleHandler{
		Exec: &api.ExecAction{Command: []string{"sh", "-c", "echo prestop > /proc/1/fd/1"}}}}
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	path := logs.Path(cfg.DataDir, api.PodKeyOf(pod), "main")
	waitFor(t, 20*time.Second, "ready", func() error { return logIs(path, "ready\n") })
	// The Pod's logs go with it: read them through a descriptor opened before.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	if err := rt.RemovePod(ctx, api.PodKeyOf(pod)); err != nil {
		t.Fatalf("remove: %v", err)
	}
	t.Logf("stopped in %s (grace 30s)", time.Since(start))
	if b, err := io.ReadAll(f); err != nil || string(b) != "ready\nprestop\nterm\n" {
		t.Fatalf("log %q, %v; want ready, prestop, term", b, err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("stop took %s: the container's own exit on SIGTERM was not noticed", time.Since(start))
	}
}

func logIs(path, want string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if string(b) != want {
		return fmt.Errorf("log %q, want %q", b, want)
	}
	return nil
}

// TestScaleDownGrace runs 50 Pods of busybox sleep (which ignores SIGTERM as PID 1) with a 2 s
// grace through the agent, deletes 47, and checks that their processes all end and their
// containers all go: each Pod stops on its own worker, and the grace is the Pod's, not a fixed
// one. The processes are watched through pidfds opened before the deletes, apart from the
// runtime's own view.
func TestScaleDownGrace(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	st, rt := agentTestEnv(t)
	rt.cfg.StopTimeout = 0 // the Pods' own grace
	ctx := t.Context()
	grace := int64(2)
	var pods []*api.Pod
	for i := range 50 {
		p := testPod(fmt.Sprintf("web-%02d", i), api.RestartAlways, "main")
		p.Spec.NodeName, p.Spec.TerminationGracePeriodSeconds = "node-a", &grace
		if err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
		pods = append(pods, p)
	}
	runAgent(t, st, rt)
	waitFor(t, 120*time.Second, "50 running", func() error { return runningCount(t, rt, 50) })
	procs := mainProcesses(t, rt, pods[3:])
	start := time.Now()
	for _, p := range pods[3:] {
		if err := st.DeletePod(ctx, p.Metadata.Namespace, p.Metadata.Name, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Stops one after another would take 47 × 2 s = 94 s: the 90 s bound holds only when Pods
	// stop each on its own. How fast is a figure for the log and BenchmarkScaleDown, not a bound.
	waitFor(t, 90*time.Second, "47 processes ended", func() error { return testenv.Ended(procs) })
	t.Logf("47 pods with a 2s grace: processes ended in %s", time.Since(start))
	waitFor(t, 90*time.Second, "3 left", func() error { return runningCount(t, rt, 3) })
	t.Logf("47 pods with a 2s grace: containers removed in %s", time.Since(start))
	for _, p := range pods[:3] {
		if sb, ok := sandboxByKey(t, rt, api.PodKeyOf(p)); !ok || sb.Containers[0].State != nodeagent.StateRunning {
			t.Fatalf("kept pod %s: %+v", p.Metadata.Name, sb)
		}
	}
}

// mainProcesses opens a pidfd on the main process of each Pod's container "main".
func mainProcesses(t *testing.T, rt *Runtime, pods []*api.Pod) []int {
	t.Helper()
	ctx := rt.ns(t.Context())
	var pids []uint32
	for _, p := range pods {
		ctr, err := rt.client.LoadContainer(ctx, containerID(api.PodKeyOf(p), "main"))
		if err != nil {
			t.Fatal(err)
		}
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, task.Pid())
	}
	return testenv.OpenPidfds(t, pids)
}

// runningCount fails unless the runtime lists exactly n Pods, all running.
func runningCount(t *testing.T, rt *Runtime, n int) error {
	sbs, err := rt.List(t.Context())
	if err != nil {
		return err
	}
	running := 0
	for _, sb := range sbs {
		if len(sb.Containers) == 1 && sb.Containers[0].State == nodeagent.StateRunning {
			running++
		}
	}
	if len(sbs) != n || running != n {
		return fmt.Errorf("%d pods listed, %d running; want %d", len(sbs), running, n)
	}
	return nil
}
