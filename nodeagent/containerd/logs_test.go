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
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
)

// TestContainerdLogs restarts a container and finds the first attempt's output kept as the
// previous log, rotates the log past its size limit, and removes the Pod with every log file.
func TestContainerdLogs(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	cfg := Config{Address: addr, Namespace: testenv.Namespace(t, addr), NodeName: "node-a",
		DataDir: filepath.Join(t.TempDir(), "data"), StopTimeout: time.Second, LogMaxBytes: 4,
		LogCheckInterval: time.Hour} // rotated by the test only
	rt := newTestRuntime(t, cfg)
	t.Cleanup(func() { removeAll(t, rt) })
	importBusybox(t, rt)
	ctx := rt.ns(t.Context())

	pod := commandPod("chatty", api.RestartAlways, `echo "attempt $(cat /proc/uptime)"; exit 3`)
	key, path := api.PodKeyOf(pod), logs.Path(cfg.DataDir, api.PodKeyOf(pod), "main")
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	waitExited := func(restarts int32) {
		waitFor(t, 20*time.Second, "container exits", func() error {
			sbs, err := rt.List(ctx)
			if err != nil {
				return err
			}
			c, _ := sbs[0].Container("main")
			if c.State != nodeagent.StateExited || c.RestartCount != restarts {
				return fmt.Errorf("state %s, %d restarts", c.State, c.RestartCount)
			}
			return nil
		})
	}
	waitExited(0)
	first := readLog(t, path)
	if err := rt.RestartContainer(ctx, key, "main"); err != nil {
		t.Fatal(err)
	}
	waitExited(1)
	second := readLog(t, path)
	if prev := readLog(t, logs.Previous(path)); prev != first || !strings.HasPrefix(second, "attempt ") || second == first {
		t.Fatalf("previous log %q (first attempt wrote %q), log %q", prev, first, second)
	}
	rt.rotateOnce()
	if cur, old := readLog(t, path), readLog(t, logs.Rotated(path)); cur != "" || old != second {
		t.Fatalf("after rotation: log %q, rotated %q; want \"\", %q", cur, old, second)
	}
	if err := rt.RemovePod(ctx, key); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(path + "*"); len(left) != 0 {
		t.Errorf("logs left after the pod went: %v", left)
	}
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
