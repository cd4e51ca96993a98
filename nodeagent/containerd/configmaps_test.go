package containerd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
	"github.com/gitfleet/gitfleet/store"
)

// readerScript prints what the container sees of ConfigMap "app", then tries to write to the
// mounted volume, which must fail.
const readerScript = `echo "greeting=$GREETING"; echo "prefixed=$APP_greeting"; cat /etc/cfg/conf/message; ` +
	`echo "subpath=$(cat /etc/greeting)"; ` +
	`if { echo x > /etc/cfg/conf/message || touch /etc/cfg/new; } 2>/dev/null; then echo mount=writable; else echo mount=read-only; fi; ` +
	`exec sleep 3600`

// TestAgentConfigMaps runs the agent against a real etcd and the machine's containerd, in a
// network namespace of its own: a Pod reads a ConfigMap as environment variables and as files
// of a read-only volume; a Pod whose ConfigMap is missing stays Pending with the reason, and
// starts once the ConfigMap is committed; removing a Pod removes its volume directory.
func TestAgentConfigMaps(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	st, rt := agentTestEnv(t)
	ctx := t.Context()
	commitConfigMap(t, st, fixture.ConfigMap("default", "app",
		map[string]string{"greeting": "hello", "message": "hi there\n"}))
	reader := readerPod("reader", "app")
	waiter := readerPod("waiter", "late")
	for _, p := range []*api.Pod{reader, waiter} {
		if err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	runAgent(t, st, rt)

	t.Run("env and read-only volume", func(t *testing.T) {
		waitLog(t, rt.cfg.DataDir, reader, "greeting=hello\nprefixed=hello\nhi there\nsubpath=hello\nmount=read-only\n")
		waitStatus(t, st, reader, func(s api.PodStatus) bool { return s.Phase == api.PodRunning && s.Ready })
		file := filepath.Join(rt.cfg.DataDir, "pods", "default_reader", "volumes", "cfg", "conf", "message")
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("volume file on the node: %v, %v", fi, err)
		}
	})
	t.Run("missing configmap keeps the pod pending", func(t *testing.T) {
		waitStatus(t, st, waiter, func(s api.PodStatus) bool {
			return s.Phase == api.PodPending && s.Reason == "CreateContainerConfigError" &&
				s.Message == `configmap "late" not found`
		})
		if _, ok := sandboxByKey(t, rt, api.PodKeyOf(waiter)); ok {
			t.Fatal("a container was created without its configmap")
		}
		commitConfigMap(t, st, fixture.ConfigMap("default", "late", map[string]string{"greeting": "late", "message": "now\n"}))
		waitLog(t, rt.cfg.DataDir, waiter, "greeting=late\nprefixed=late\nnow\nsubpath=late\nmount=read-only\n")
	})
	t.Run("removal removes the volumes", func(t *testing.T) {
		if err := st.DeletePod(ctx, "default", "reader", 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "reader removed", func() error {
			if _, ok := sandboxByKey(t, rt, api.PodKeyOf(reader)); ok || fileExists(rt.podDir(api.PodKeyOf(reader))) {
				return fmt.Errorf("sandbox listed %v, pod dir left %v", ok, fileExists(rt.podDir(api.PodKeyOf(reader))))
			}
			return nil
		})
	})
}

// readerPod runs readerScript against ConfigMap cm, bound to node-a.
func readerPod(name, cm string) *api.Pod {
	p := commandPod(name, api.RestartAlways, readerScript)
	p.Spec.NodeName = "node-a"
	c := &p.Spec.Containers[0]
	c.Env = []api.EnvVar{{Name: "GREETING", ValueFrom: fixture.KeyRef(cm, "greeting", false)}}
	c.EnvFrom = []api.EnvFromSource{{Prefix: "APP_", ConfigMapRef: &api.ConfigMapEnvSource{Name: cm}}}
	c.VolumeMounts = []api.VolumeMount{
		{Name: "cfg", MountPath: "/etc/cfg"},
		{Name: "whole", MountPath: "/etc/greeting", SubPath: "greeting"},
	}
	p.Spec.Volumes = []api.Volume{
		{Name: "cfg", ConfigMap: &api.ConfigMapVolumeSource{Name: cm, Items: []api.KeyToPath{{Key: "message", Path: "conf/message"}}}},
		{Name: "whole", ConfigMap: &api.ConfigMapVolumeSource{Name: cm}},
	}
	return p
}

// commitConfigMap writes a new desired ConfigMap, as the controller would.
func commitConfigMap(t *testing.T, st *store.Store, cm *api.ConfigMap) {
	t.Helper()
	w := store.Write{Key: api.KeyOf(cm), Object: cm}
	if _, err := st.CommitSync(t.Context(), store.SyncRecord{Writes: []store.Write{w}, Status: api.SyncStatus{Source: "test"}}); err != nil {
		t.Fatalf("commit configmap: %v", err)
	}
}

// runAgent runs an agent of node-a until the test ends, stopping it before the runtime's cleanup.
func runAgent(t *testing.T, st *store.Store, rt *Runtime) {
	startAgent(t, st, rt, nodeagent.AgentOptions{Node: nodeagent.NodeConfig{Name: "node-a"}, Resync: 200 * time.Millisecond})
}

// startAgent runs an agent with opts until the test ends.
func startAgent(t *testing.T, st *store.Store, rt *Runtime, opts nodeagent.AgentOptions) {
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := nodeagent.NewAgent(st, rt, log, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func waitLog(t *testing.T, dataDir string, pod *api.Pod, want string) {
	t.Helper()
	path := logs.Path(dataDir, api.PodKeyOf(pod), "main")
	waitFor(t, 60*time.Second, "log of "+pod.Metadata.Name, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(string(b), want) {
			return fmt.Errorf("log %q, want %q", b, want)
		}
		return nil
	})
}

func waitStatus(t *testing.T, st *store.Store, pod *api.Pod, ok func(api.PodStatus) bool) {
	t.Helper()
	name := api.PodKeyOf(pod).String()
	waitFor(t, 60*time.Second, "status of "+name, func() error {
		sts, _, err := st.ListPodStatuses(t.Context())
		if err != nil {
			return err
		}
		if s, found := sts[api.PodKeyOf(pod)]; !found || !ok(s) {
			return fmt.Errorf("status %+v", s)
		}
		return nil
	})
}
