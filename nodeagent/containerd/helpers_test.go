package containerd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/store"
)

// testPod is a Pod of busybox containers that sleep.
func testPod(name, policy string, containers ...string) *api.Pod {
	return fixture.SleepPod(name, testimage.Ref, policy, containers...)
}

// t0 is the tests' clock.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestRuntime starts a containerd runtime for the test and closes it at the end.
func newTestRuntime(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	rt, err := New(t.Context(), cfg, log.With("agent", time.Now().Format("15:04:05.000")))
	if err != nil {
		t.Fatalf("new containerd runtime: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// testRuntime is the runtime most tests use, once inside their network namespace: the
// machine's containerd at addr, a containerd namespace and a data dir of the test's own, a 1 s
// cap on stops; every Pod it lists is removed when the test ends.
func testRuntime(t *testing.T, addr string) *Runtime {
	t.Helper()
	cfg := Config{Address: addr, Namespace: testenv.Namespace(t, addr), NodeName: "node-a",
		DataDir: filepath.Join(t.TempDir(), "data"), StopTimeout: time.Second}
	rt := newTestRuntime(t, cfg)
	t.Cleanup(func() { removeAll(t, rt) })
	return rt
}

// removeAll removes every Pod the runtime lists: run before the data dir goes, since it holds
// mounted network namespaces.
func removeAll(t *testing.T, rt *Runtime) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sbs, err := rt.List(ctx)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, sb := range sbs {
		if err := rt.RemovePod(ctx, sb.Key); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// httpPod is a Pod whose container serves "<POD_NAME env> <hostname>" on port (on addr, when
// set) with busybox httpd; the image's entrypoint is /bin/busybox, so args alone name the applet.
func httpPod(name, addr string, port int) *api.Pod {
	p := testPod(name, api.RestartAlways, "httpd")
	c := &p.Spec.Containers[0]
	c.Args = []string{"sh", "-c", fmt.Sprintf(
		`mkdir -p /www && echo "$POD_NAME $(hostname)" > /www/index.html && exec httpd -f -p %s%d -h /www`, addr, port)}
	c.Env = []api.EnvVar{{Name: "POD_NAME", Value: name}}
	c.Ports = []api.ContainerPort{{ContainerPort: int32(port)}}
	c.Resources.Limits = api.ResourceList{api.ResourceCPU: "500m", api.ResourceMemory: "64Mi"}
	return p
}

// commandPod runs one container with a shell command (command replaces the entrypoint).
func commandPod(name, policy, script string) *api.Pod {
	p := testPod(name, policy, "main")
	p.Spec.Containers[0].Command = []string{"sh", "-c", script}
	p.Spec.Containers[0].Args = nil
	return p
}

// waitFor polls fn every 100ms until it succeeds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getBody GETs url and checks the body is want.
func getBody(ctx context.Context, url, want string) error {
	body, err := netnstest.Get(ctx, url)
	if err != nil {
		return err
	}
	if strings.TrimSpace(body) != want {
		return fmt.Errorf("GET %s = %q, want %q", url, body, want)
	}
	return nil
}

// pass runs one observe → plan → apply round and returns the steps it took (not keeps).
func pass(t *testing.T, rt nodeagent.Runtime, wanted ...*api.Pod) []string {
	t.Helper()
	ctx := t.Context()
	observed, err := rt.List(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var applied []string
	for _, s := range nodeagent.Plan(wanted, observed, time.Now()) {
		if s.Action == nodeagent.ActionKeep {
			continue
		}
		if err := nodeagent.Apply(ctx, rt, s); err != nil {
			t.Fatalf("apply %s: %v", s, err)
		}
		applied = append(applied, s.Action.String()+" "+s.Key.String())
	}
	return applied
}

func sandboxByKey(t *testing.T, rt nodeagent.Runtime, key api.PodKey) (nodeagent.Sandbox, bool) {
	t.Helper()
	sbs, err := rt.List(t.Context())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, sb := range sbs {
		if sb.Key == key {
			return sb, true
		}
	}
	return nodeagent.Sandbox{}, false
}

// startForeign runs a container gitfleet must never touch: labels is nil for one with no
// gitfleet labels at all, or gitfleet's labels for another node.
func startForeign(t *testing.T, c *client.Client, id string, labels map[string]string) client.Container {
	t.Helper()
	ctx := t.Context()
	img, err := c.GetImage(ctx, testimage.Ref)
	if err != nil {
		t.Fatalf("get image: %v", err)
	}
	ctr, err := c.NewContainer(ctx, id, client.WithImage(img), client.WithNewSnapshot(id, img),
		client.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "1000")),
		client.WithContainerLabels(labels))
	if err != nil {
		t.Fatalf("create foreign container: %v", err)
	}
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		t.Fatalf("create foreign task: %v", err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start foreign task: %v", err)
	}
	return ctr
}

func assertRunning(t *testing.T, ctr client.Container) {
	t.Helper()
	task, err := ctr.Task(t.Context(), nil)
	if err != nil {
		t.Fatalf("container %s lost its task: %v", ctr.ID(), err)
	}
	st, err := task.Status(t.Context())
	if err != nil || st.Status != client.Running {
		t.Fatalf("container %s: status %v, %v; want running", ctr.ID(), st.Status, err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// agentTestEnv is what a test of the agent with this runtime needs, inside netnstest.Run: a real
// etcd, and the runtime of node "node-a" on the machine's containerd in a namespace of the
// test's own, with the busybox test image imported; everything is removed after the test.
func agentTestEnv(t *testing.T) (*store.Store, *Runtime) {
	t.Helper()
	addr := testenv.RequireContainerd(t)
	st := etcdtest.Start(t)
	rt := testRuntime(t, addr)
	if _, err := rt.ImportArchive(t.Context(), testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatalf("import: %v", err)
	}
	return st, rt
}
