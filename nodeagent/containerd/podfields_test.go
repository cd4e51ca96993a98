package containerd

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
)

// fieldsScript prints what the Pod fields under test did to the process, one fact a line.
const fieldsScript = `echo "id $(id -u):$(id -g) in $(pwd)"
echo "init wrote $(cat /work/flag)"
touch /rootfile 2>/dev/null && echo "root writable" || echo "root read-only"
dd if=/dev/zero of=/mem/big bs=1024 count=2048 2>/dev/null && echo "tmpfs unbounded" || echo "tmpfs full"
grep -q 'tmpfs /mem tmpfs' /proc/mounts && echo "mem is tmpfs"
grep NoNewPrivs /proc/self/status
grep CapEff /proc/self/status
echo "all checked" > /dev/termination-log`

// TestContainerdPodFields runs a Pod using the fields real manifests use: an init container
// writes a file into an emptyDir that the app reads, a sidecar init container keeps running,
// and the app runs as another user in its working directory, with a read-only root, no new
// privileges, no capabilities, a size-limited memory emptyDir and a termination message.
func TestContainerdPodFields(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)
	cfg := rt.cfg
	importBusybox(t, rt)
	ctx := rt.ns(t.Context())

	pod := fieldsPod()
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "pod succeeds", func() error {
		sbs, err := rt.List(ctx)
		if err != nil {
			return err
		}
		if st := nodeagent.StatusOf(pod, sbs); st.Phase != api.PodSucceeded {
			return fmt.Errorf("phase %s: %s", st.Phase, st.Message)
		}
		return nil
	})
	out, err := os.ReadFile(logs.Path(cfg.DataDir, api.PodKeyOf(pod), "main"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"id 1000:3000 in /work", "init wrote from-init", "root read-only",
		"tmpfs full", "mem is tmpfs", "NoNewPrivs:\t1", "CapEff:\t0000000000000000"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	sbs, err := rt.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if msg := nodeagent.StatusOf(pod, sbs).ContainerStatuses[0].Message; !strings.HasSuffix(msg, ": all checked") {
		t.Errorf("status message %q lacks the termination message", msg)
	}
	side, _ := sbs[0].Container("side")
	init, _ := sbs[0].Container("init")
	if side.State != nodeagent.StateRunning || init.State != nodeagent.StateExited || init.ExitCode != 0 {
		t.Errorf("sidecar %s, init %s (%d): want running, exited (0)", side.State, init.State, init.ExitCode)
	}
	if err := rt.RemovePod(ctx, api.PodKeyOf(pod)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rt.podDir(api.PodKeyOf(pod))); !os.IsNotExist(err) {
		t.Errorf("pod dir left after removal (tmpfs not unmounted?): %v", err)
	}
}

func fieldsPod() *api.Pod {
	pod := commandPod("fields", api.RestartNever, fieldsScript)
	pod.Spec.Volumes = []api.Volume{
		{Name: "work", EmptyDir: &api.EmptyDirVolumeSource{}},
		{Name: "mem", EmptyDir: &api.EmptyDirVolumeSource{Medium: api.StorageMediumMemory, SizeLimit: "1Mi"}},
	}
	work := []api.VolumeMount{{Name: "work", MountPath: "/work"}}
	init := pod.Spec.Containers[0]
	init.Name, init.Command, init.VolumeMounts = "init", []string{"sh", "-c", "echo from-init > /work/flag"}, work
	side := pod.Spec.Containers[0]
	side.Name, side.Command, side.RestartPolicy = "side", []string{"sleep", "3600"}, api.RestartAlways
	pod.Spec.InitContainers = []api.Container{init, side}
	uid, gid, yes, no := int64(1000), int64(3000), true, false
	main := &pod.Spec.Containers[0]
	main.WorkingDir, main.TerminationMessagePath = "/work", "/dev/termination-log"
	main.VolumeMounts = append(work, api.VolumeMount{Name: "mem", MountPath: "/mem"})
	main.SecurityContext = &api.SecurityContext{RunAsUser: &uid, RunAsGroup: &gid,
		ReadOnlyRootFilesystem: &yes, AllowPrivilegeEscalation: &no,
		Capabilities: &api.Capabilities{Drop: []string{"ALL"}}}
	return pod
}

// TestContainerdInitFailure: an init container that fails keeps the app containers from being
// created, and under restartPolicy Never it is not run again.
func TestContainerdInitFailure(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)
	importBusybox(t, rt)
	ctx := rt.ns(t.Context())

	pod := commandPod("init-fails", api.RestartNever, "echo app ran")
	init := pod.Spec.Containers[0]
	init.Name, init.Command = "init", []string{"sh", "-c", "exit 4"}
	pod.Spec.InitContainers = []api.Container{init}
	for i, want := range []string{"exited with code 4", "exited with code 4, and the pod's restartPolicy is Never"} {
		if _, err := rt.EnsurePod(ctx, pod); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("attempt %d: ensure pod: %v; want %q", i, err, want)
		}
	}
	sbs, err := rt.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sbs) != 1 || len(sbs[0].Containers) != 1 || sbs[0].Containers[0].Name != "init" || sbs[0].Containers[0].RestartCount != 0 {
		t.Fatalf("after two attempts: %+v; want the init container alone, run once", sbs)
	}
}
