package containerd

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	taskv2 "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/containerd/ttrpc"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
)

func TestParseShim(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want shimProc
		ok   bool
	}{
		{"runc v2", []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "gitfleet", "-id", "default_web_main", "-address", "/run/containerd/containerd.sock"},
			shimProc{PID: 7, Namespace: "gitfleet", ID: "default_web_main", Address: "/run/containerd/containerd.sock"}, true},
		{"no id", []string{"containerd-shim-runc-v2", "-namespace", "gitfleet"}, shimProc{}, false},
		{"flag without value", []string{"containerd-shim-runc-v2", "-namespace", "gitfleet", "-id"}, shimProc{}, false},
		{"other process", []string{"/bin/sleep", "-namespace", "gitfleet", "-id", "x"}, shimProc{}, false},
		{"empty", nil, shimProc{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseShim(7, tc.args)
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("parseShim = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestOrphanShims(t *testing.T) {
	const addr, ns = "/run/containerd/containerd.sock", "gitfleet"
	shim := func(pid int, ns, id, address string) shimProc {
		return shimProc{PID: pid, Namespace: ns, ID: id, Address: address}
	}
	containers := map[string]bool{"default_web_main": true}
	for _, tc := range []struct {
		name   string
		shim   shimProc
		orphan bool
	}{
		{"container exists", shim(1, ns, "default_web_main", addr), false},
		{"container gone", shim(2, ns, "default_web_sidecar", addr), true},
		{"hashed id, container gone", shim(3, ns, "gf-0123456789abcdef0123", addr), true},
		{"pod name with dots", shim(4, ns, "default_web.v2_main", addr), true},
		{"another namespace", shim(5, "k8s.io", "default_web_sidecar", addr), false},
		{"another containerd", shim(6, ns, "default_web_sidecar", "/tmp/other/containerd.sock"), false},
		{"not a gitfleet id", shim(7, ns, "buildkit-abc", addr), false},
		{"one underscore", shim(8, ns, "web_main", addr), false},
		{"upper case", shim(9, ns, "default_Web_main", addr), false},
		{"short hash", shim(10, ns, "gf-0123", addr), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := orphanShims([]shimProc{tc.shim}, addr, ns, containers)
			if (len(got) == 1) != tc.orphan {
				t.Fatalf("orphanShims(%+v) = %+v; want orphan %v", tc.shim, got, tc.orphan)
			}
		})
	}
}

// TestStaleTaskRecovers makes the state TestAgentKill9 found an agent killed mid-delete to
// leave: containerd still lists the container's task, whose shim no longer holds the container
// (deleted through the shim's own API, as containerd's delete cut short leaves it). containerd
// then finds no task and refuses every new one as existing. The plan's next start must get
// past it, a removal must end the shim, and a shim whose container is gone must be ended by the
// runtime's sweep.
func TestStaleTaskRecovers(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)
	ctx := rt.ns(t.Context())
	if _, err := rt.ImportArchive(ctx, testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatalf("import: %v", err)
	}
	pod := testPod("stale", api.RestartAlways, "main")
	key := api.PodKeyOf(pod)
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	id := containerID(key, "main")

	leaveStale(t, rt, id)
	o, err := rt.loadOwned(ctx, key, "main")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.ctr.NewTask(ctx, cio.NullIO); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("new task over a stale one: %v; want the 'already exists' of issue 11", err)
	}
	waitFor(t, 10*time.Second, "running again", func() error {
		pass(t, rt, pod)
		return stateIs(t, rt, key, nodeagent.StateRunning)
	})
	if n := len(shimsOf(t, rt, id)); n != 1 {
		t.Fatalf("%d shims for the restarted container, want 1", n)
	}

	leaveStale(t, rt, id)
	if err := rt.RemovePod(ctx, key); err != nil {
		t.Fatalf("remove over a stale task: %v", err)
	}
	waitFor(t, 10*time.Second, "shim ended by the removal", func() error { return noShim(t, rt, id) })

	// the container deleted behind a stale task, as an older agent's removal did
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatalf("ensure: %v", err)
	}
	leaveStale(t, rt, id)
	if err := o.ctr.Delete(ctx); err != nil {
		t.Fatalf("delete container: %v", err)
	}
	if err := rt.collectShims(ctx); err != nil {
		t.Fatalf("collect shims: %v", err)
	}
	waitFor(t, 10*time.Second, "shim ended by the sweep", func() error { return noShim(t, rt, id) })
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatalf("ensure after the sweep: %v", err)
	}
	if err := stateIs(t, rt, key, nodeagent.StateRunning); err != nil {
		t.Fatal(err)
	}
}

// leaveStale kills and deletes the container's process through its shim's own ttrpc API,
// behind containerd's back: containerd keeps the task, the shim no longer has the container.
func leaveStale(t *testing.T, rt *Runtime, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b, err := os.ReadFile(filepath.Join("/run/containerd/io.containerd.runtime.v2.task", rt.cfg.Namespace, id, "address"))
	if err != nil {
		t.Fatalf("read shim address: %v", err)
	}
	conn, err := net.Dial("unix", strings.TrimPrefix(strings.TrimSpace(string(b)), "unix://"))
	if err != nil {
		t.Fatalf("dial shim: %v", err)
	}
	cl := ttrpc.NewClient(conn)
	defer cl.Close()
	shim := taskv2.NewTTRPCTaskClient(cl)
	if _, err := shim.Kill(ctx, &taskv2.KillRequest{ID: id, Signal: uint32(syscall.SIGKILL)}); err != nil {
		t.Fatalf("kill through the shim: %v", err)
	}
	if _, err := shim.Wait(ctx, &taskv2.WaitRequest{ID: id}); err != nil {
		t.Fatalf("wait through the shim: %v", err)
	}
	if _, err := shim.Delete(ctx, &taskv2.DeleteRequest{ID: id}); err != nil {
		t.Fatalf("delete through the shim: %v", err)
	}
	if _, err := rt.client.LoadContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if len(shimsOf(t, rt, id)) != 1 {
		t.Fatal("no shim left serving the stale task")
	}
}

// shimsOf returns the shims of the runtime's namespace serving container id.
func shimsOf(t *testing.T, rt *Runtime, id string) []shimProc {
	t.Helper()
	shims, err := listShims("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []shimProc
	for _, s := range shims {
		if s.Namespace == rt.cfg.Namespace && s.ID == id {
			out = append(out, s)
		}
	}
	return out
}

func noShim(t *testing.T, rt *Runtime, id string) error {
	if s := shimsOf(t, rt, id); len(s) != 0 {
		return fmt.Errorf("shims left: %+v", s)
	}
	return nil
}
