package containerd

import (
	"fmt"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// TestCreatedTaskRecovers leaves a container's task CREATED, as an agent killed between
// creating and starting it does, and checks that the plan's next start, a restart and a removal
// all get past it (containerd refuses to delete a created task without killing it), and that
// creating a Pod leaves no lease behind.
func TestCreatedTaskRecovers(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)
	ctx := rt.ns(t.Context())
	if _, err := rt.ImportArchive(ctx, testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatalf("import: %v", err)
	}
	pod := testPod("stuck", api.RestartAlways, "main")
	key := api.PodKeyOf(pod)
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if ls, err := rt.client.LeasesService().List(ctx); err != nil || len(ls) != 0 {
		t.Fatalf("leases after creating a pod: %v, %v; want none", ls, err)
	}

	leaveCreated(t, rt, key, "main")
	// the plan starts it after the back-off of its recorded start
	waitFor(t, 10*time.Second, "running again", func() error {
		pass(t, rt, pod)
		return stateIs(t, rt, key, nodeagent.StateRunning)
	})

	leaveCreated(t, rt, key, "main")
	if err := rt.RestartContainer(ctx, key, "main"); err != nil {
		t.Fatalf("restart over a created task: %v", err)
	}
	waitFor(t, 10*time.Second, "running after restart", func() error { return stateIs(t, rt, key, nodeagent.StateRunning) })

	leaveCreated(t, rt, key, "main")
	if err := rt.RemovePod(ctx, key); err != nil {
		t.Fatalf("remove over a created task: %v", err)
	}
	if _, ok := sandboxByKey(t, rt, key); ok {
		t.Fatal("pod still listed after its removal")
	}
}

// leaveCreated replaces the container's task by one created and not started, with the start
// recorded first, as start does.
func leaveCreated(t *testing.T, rt *Runtime, key api.PodKey, name string) {
	t.Helper()
	ctx := rt.ns(t.Context())
	o, err := rt.loadOwned(ctx, key, name)
	if err != nil {
		t.Fatal(err)
	}
	if task, err := o.ctr.Task(ctx, nil); err == nil {
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil {
			t.Fatalf("delete task: %v", err)
		}
	}
	if _, err := o.ctr.SetLabels(ctx, startLabels(o.labels, time.Now(), false)); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ctr.NewTask(ctx, cio.NullIO); err != nil {
		t.Fatalf("create task: %v", err)
	}
	if err := stateIs(t, rt, key, nodeagent.StateCreated); err != nil {
		t.Fatal(err)
	}
}

func stateIs(t *testing.T, rt *Runtime, key api.PodKey, want nodeagent.State) error {
	sb, ok := sandboxByKey(t, rt, key)
	if !ok || len(sb.Containers) != 1 {
		return fmt.Errorf("pod %s listed as %+v", key, sb)
	}
	if got := sb.Containers[0].State; got != want {
		return fmt.Errorf("container %s, want %s", got, want)
	}
	return nil
}
