package containerd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// TestContainerdLimits runs a Pod with cpu and memory requests and limits and reads them back
// from its container's cgroup (v2 or v1, whichever the machine has), then a Pod that allocates
// past its memory limit and must show OOMKilled.
func TestContainerdLimits(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)
	importBusybox(t, rt)
	ctx := rt.ns(t.Context())

	pod := commandPod("limits", api.RestartAlways, "exec sleep 3600")
	pod.Spec.Containers[0].Resources = api.ResourceRequirements{
		Requests: api.ResourceList{api.ResourceCPU: "250m", api.ResourceMemory: "32Mi"},
		Limits:   api.ResourceList{api.ResourceCPU: "500m", api.ResourceMemory: "64Mi"},
	}
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	ctr, err := rt.client.LoadContainer(ctx, containerID(api.PodKeyOf(pod), "main"))
	if err != nil {
		t.Fatal(err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cg := cgroupOf(t, int(task.Pid()))
	cg.expect(t, "cpu.max", "50000 100000", "cpu", "cpu.cfs_quota_us", "50000")
	cg.expect(t, "cpu.weight", "10", "cpu", "cpu.shares", "256") // runc: 1 + (256-2)*9999/262142
	cg.expect(t, "memory.max", "67108864", "memory", "memory.limit_in_bytes", "67108864")

	oom := commandPod("oom", api.RestartNever, "dd if=/dev/zero of=/dev/null bs=64M count=1")
	oom.Spec.Containers[0].Resources.Limits = api.ResourceList{api.ResourceMemory: "16Mi"}
	if _, err := rt.EnsurePod(ctx, oom); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "oom pod fails", func() error {
		sbs, err := rt.List(ctx)
		if err != nil {
			return err
		}
		st := nodeagent.StatusOf(oom, sbs)
		if st.Phase != api.PodFailed {
			return fmt.Errorf("phase %s: %s", st.Phase, st.Message)
		}
		if cs := st.ContainerStatuses[0]; cs.Reason != api.ReasonOOMKilled || cs.ExitCode != 137 {
			t.Fatalf("container status %+v, want reason %s and exit code 137", cs, api.ReasonOOMKilled)
		}
		return nil
	})
}

// cgroup is a process's cgroup: its v2 directory, or its v1 path within each controller.
type cgroup struct {
	v2 string
	v1 map[string]string
}

func cgroupOf(t *testing.T, pid int) cgroup {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	cg := cgroup{v1: map[string]string{}}
	for line := range strings.Lines(string(data)) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			cg.v2 = filepath.Join(cgroupRoot, parts[2])
		}
		for ctl := range strings.SplitSeq(parts[1], ",") {
			cg.v1[ctl] = filepath.Join(cgroupRoot, ctl, parts[2])
		}
	}
	return cg
}

// expect checks a v2 file's content, or on a v1 machine the v1 controller's file.
func (cg cgroup) expect(t *testing.T, v2File, v2Want, v1Ctl, v1File, v1Want string) {
	t.Helper()
	path, want := filepath.Join(cg.v2, v2File), v2Want
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); err != nil {
		path, want = filepath.Join(cg.v1[v1Ctl], v1File), v1Want
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(data)); got != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}

// importBusybox imports the busybox test image into the runtime's namespace.
func importBusybox(t *testing.T, rt *Runtime) {
	t.Helper()
	if _, err := rt.ImportArchive(t.Context(), testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatal(err)
	}
}
