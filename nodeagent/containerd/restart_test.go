package containerd

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/store"
)

// TestContainerdRestart stops the agent's containerd (a private daemon) while the agent runs
// three Pods, once with SIGTERM and once with SIGKILL, and starts it again. The containers
// keep running through it (their shims outlive containerd) and are adopted as they are; a
// container killed while containerd is away is restarted once it is back (the agent lists
// afresh when it subscribes again), and one killed after is restarted through the new event
// stream: the agent's resync is 5 minutes, so nothing else would notice within the wait.
func TestContainerdRestart(t *testing.T) {
	testenv.RequireDaemon(t)
	if !netnstest.Run(t) {
		return
	}
	d := testenv.StartDaemon(t, t.TempDir(), exec.Command) // first: its cleanup runs last
	st := etcdtest.Start(t)
	rt := newTestRuntime(t, Config{Address: d.Address, Namespace: d.Namespace(), NodeName: "node-a",
		DataDir: filepath.Join(t.TempDir(), "data"), StopTimeout: time.Second})
	t.Cleanup(func() { removeAll(t, rt) })
	if _, err := rt.ImportArchive(t.Context(), testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatalf("import: %v", err)
	}
	runAgentResync(t, st, rt, 5*time.Minute)
	names := []string{"r-0", "r-1", "r-2"}
	for _, name := range names {
		p := testPod(name, api.RestartAlways, "main")
		p.Spec.NodeName = "node-a"
		if err := st.CreatePod(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	pids := waitPids(t, rt, names, nil)
	for round, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := d.Signal(sig); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		away := names[0]
		if err := syscall.Kill(pids[away], syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s while containerd is away: %v", away, err)
		}
		time.Sleep(500 * time.Millisecond) // the agent finds its event stream gone
		if err := d.Restart(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: containerd stopped with %s and started again", round, sig)
		pids = waitPids(t, rt, names, map[string]int{away: pids[away]})
		assertPids(t, rt, names[1:], pids)

		after := names[1]
		if err := syscall.Kill(pids[after], syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s after the restart: %v", after, err)
		}
		pids = waitPids(t, rt, names, map[string]int{after: pids[after]})
	}
	sbs, err := rt.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	restarts := map[string]int32{}
	for _, sb := range sbs {
		if len(sb.Containers) != 1 {
			t.Fatalf("pod %s: containers %+v, want one", sb.Key, sb.Containers)
		}
		restarts[sb.Key.Name] = sb.Containers[0].RestartCount
	}
	want := map[string]int32{"r-0": 2, "r-1": 2, "r-2": 0}
	if len(sbs) != len(names) || fmt.Sprint(restarts) != fmt.Sprint(want) {
		t.Fatalf("restarts %v of %d pods, want %v", restarts, len(sbs), want)
	}
	if n := countShimsOf(t, rt); n != len(names) {
		t.Fatalf("%d shims serve the namespace, want %d", n, len(names))
	}
}

// runAgentResync runs the agent of node-a with the given resync until the test ends.
func runAgentResync(t *testing.T, st *store.Store, rt *Runtime, resync time.Duration) {
	startAgent(t, st, rt, nodeagent.AgentOptions{Node: nodeagent.NodeConfig{Name: "node-a"}, Resync: resync})
}

// waitPids waits until each named Pod runs its one container, and, for the Pods in old, with
// another process than the one given (restarted); it returns the processes.
func waitPids(t *testing.T, rt *Runtime, names []string, old map[string]int) map[string]int {
	t.Helper()
	pids := map[string]int{}
	waitFor(t, time.Minute, "pods running", func() error {
		for _, name := range names {
			pid, err := taskPid(t, rt, name)
			if err != nil {
				return err
			}
			if pid == old[name] {
				return fmt.Errorf("%s still shows its killed process %d", name, pid)
			}
			pids[name] = pid
		}
		return nil
	})
	return pids
}

// assertPids fails unless the named Pods still run the given processes.
func assertPids(t *testing.T, rt *Runtime, names []string, pids map[string]int) {
	t.Helper()
	for _, name := range names {
		if pid, err := taskPid(t, rt, name); err != nil || pid != pids[name] {
			t.Fatalf("%s: process %d, %v; want %d, kept running", name, pid, err, pids[name])
		}
	}
}

// taskPid returns the process of the Pod's running container "main".
func taskPid(t *testing.T, rt *Runtime, name string) (int, error) {
	ctx := rt.ns(t.Context())
	ctr, err := rt.client.LoadContainer(ctx, containerID(api.PodKey{Namespace: "default", Name: name}, "main"))
	if err != nil {
		return 0, err
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return 0, err
	}
	s, err := task.Status(ctx)
	if err != nil {
		return 0, err
	}
	if s.Status != "running" {
		return 0, fmt.Errorf("%s is %s", name, s.Status)
	}
	return int(task.Pid()), nil
}

// countShimsOf counts the shims serving the runtime's containerd and namespace.
func countShimsOf(t *testing.T, rt *Runtime) int {
	shims, err := listShims("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range shims {
		if s.Namespace == rt.cfg.Namespace && s.Address == rt.cfg.Address {
			n++
		}
	}
	return n
}
