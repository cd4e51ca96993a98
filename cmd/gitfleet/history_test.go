package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/reconciler"
	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

func deploymentManifest(name string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[2]d
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: main
          image: busybox
`, name, replicas)
}

// controllerEnv is a real etcd and a real controller following a real repository's deploy/.
type controllerEnv struct {
	st     *store.Store
	eps    string
	remote *gittest.Remote
	ctrl   *reconciler.Controller
}

func newControllerEnv(t *testing.T) *controllerEnv {
	t.Helper()
	st, eps := etcdtest.StartWithEndpoints(t)
	e := &controllerEnv{st: st, eps: strings.Join(eps, ","), remote: gittest.NewRemote(t)}
	e.remote.Write("deploy/web.yaml", deploymentManifest("web", 1))
	e.remote.CommitAndPush("add web")
	src, err := source.New(source.Config{URL: e.remote.URL(), Path: "deploy",
		PollInterval: time.Hour, CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	e.ctrl = reconciler.New(st, src, slog.New(slog.NewTextHandler(io.Discard, nil)), reconciler.Options{})
	return e
}

func (e *controllerEnv) sync(t *testing.T) api.SyncStatus {
	t.Helper()
	st, err := e.ctrl.SyncOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// run runs the controller until the test ends.
func (e *controllerEnv) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

func TestHistoryCLI(t *testing.T) {
	e := newControllerEnv(t)
	c1 := e.remote.Head()
	e.sync(t)
	e.remote.Write("deploy/web.yaml", deploymentManifest("web", 2))
	e.remote.Write("deploy/api.yaml", deploymentManifest("api", 1))
	c2 := e.remote.CommitAndPush("scale web\tand add api")
	e.sync(t)
	e.remote.Write("deploy/bad.yaml", "kind: Nope\n")
	c3 := e.remote.CommitAndPush("bad")
	e.sync(t)

	out, stderr, err := runCLI("history", "--etcd-endpoints", e.eps)
	if err != nil {
		t.Fatalf("history: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "ID TIME COMMIT RESULT CHANGES AUTHOR MESSAGE" {
		t.Fatalf("history table:\n%s", out)
	}
	for i, want := range []string{
		"1 * " + c1[:12] + " Synced +1 ~0 -0 gittest add web",
		"2 * " + c2[:12] + " Synced +1 ~1 -0 gittest scale web and add api",
		"3 * " + c3[:12] + " Failed +0 ~0 -0 gittest bad: commit " + c3[:12] + " has 1 errors;",
	} {
		f := strings.Fields(lines[i+1])
		f[1] = "*" // the time
		if got := strings.Join(f, " "); !strings.HasPrefix(got, want) {
			t.Errorf("row %d = %q, want %q...", i+1, got, want)
		}
	}

	out, _, err = runCLI("history", "-o", "json", "--etcd-endpoints", e.eps)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Items []api.HistoryEntry `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Items) != 3 {
		t.Fatalf("history -o json = %v:\n%s", err, out)
	}
	if it := got.Items[1]; it.ID != 2 || it.Commit.Hash != c2 || it.Commit.Author != "gittest" ||
		strings.Join(it.Changes, ",") != "+ Deployment/default/api,~ Deployment/default/web" {
		t.Fatalf("item 2 = %+v", it)
	}
	if _, _, err := runCLI("history", "extra", "--etcd-endpoints", e.eps); err == nil {
		t.Fatal("history with an argument succeeded")
	}
}

func TestHistoryCLIEmpty(t *testing.T) {
	_, eps := etcdtest.StartWithEndpoints(t)
	out, _, err := runCLI("history", "-o", "json", "--etcd-endpoints", strings.Join(eps, ","))
	if err != nil || strings.Join(strings.Fields(out), "") != `{"items":[]}` {
		t.Fatalf("history of nothing = %q, %v", out, err)
	}
}

func TestRollbackCLI(t *testing.T) {
	e := newControllerEnv(t)
	c1 := e.remote.Head()
	e.sync(t)
	e.remote.Write("deploy/web.yaml", deploymentManifest("web", 3))
	c2 := e.remote.CommitAndPush("scale web")
	e.sync(t)
	e.run(t)

	out, stderr, err := runCLI("rollback", c1[:8], "--etcd-endpoints", e.eps, "--timeout", "20s")
	if err != nil {
		t.Fatalf("rollback: %v\n%s%s", err, out, stderr)
	}
	if !strings.Contains(out, "rollback: "+c1[:12]+" applied: 0 created, 1 changed, 0 deleted") {
		t.Fatalf("rollback output:\n%s", out)
	}
	st, err := e.st.GetSync(context.Background(), syncSource)
	if err != nil || st.PinnedCommit != c1 || st.AppliedCommit != c1 || st.SeenCommit != c2 {
		t.Fatalf("status after rollback = %+v, %v", st, err)
	}
	out, _, _ = runCLI("history", "--etcd-endpoints", e.eps)
	if !strings.Contains(out, "Synced (rollback)") {
		t.Fatalf("history after rollback:\n%s", out)
	}

	// A commit that never synced is refused before anything is written.
	e.remote.Write("deploy/bad.yaml", "kind: Nope\n")
	bad := e.remote.CommitAndPush("bad")
	if _, err := e.st.RequestSync(context.Background(), syncSource, api.SyncRequest{ID: "resume"}, store.PinChange{Remove: true}); err != nil {
		t.Fatal(err)
	}
	waitHistory(t, e, bad)
	_, _, err = runCLI("rollback", bad, "--etcd-endpoints", e.eps)
	if !errors.Is(err, request.ErrUnknownCommit) {
		t.Fatalf("rollback to a bad commit: %v, want ErrUnknownCommit", err)
	}
	if _, _, err = runCLI("rollback", "--etcd-endpoints", e.eps); err == nil {
		t.Fatal("rollback without a commit succeeded")
	}
}

// A rollback the controller refuses (here: it would delete most objects) exits 1 and says why.
func TestRollbackCLIRefused(t *testing.T) {
	e := newControllerEnv(t)
	c1 := e.remote.Head()
	e.sync(t)
	for _, n := range []string{"a", "b", "c"} {
		e.remote.Write("deploy/"+n+".yaml", deploymentManifest(n, 1))
	}
	e.remote.CommitAndPush("add three")
	e.sync(t)
	e.run(t)
	out, _, err := runCLI("rollback", c1, "--etcd-endpoints", e.eps, "--timeout", "20s")
	var code exitCode
	if !errors.As(err, &code) || code != 1 {
		t.Fatalf("refused rollback: err %v, want exit 1\n%s", err, out)
	}
	if !strings.Contains(out, "not applied: Failed: refusing to delete 3 of 4 objects") {
		t.Fatalf("refused rollback output:\n%s", out)
	}
}

// Without a controller, rollback gives up after --timeout and exits 1; the pin stays.
func TestRollbackCLITimeout(t *testing.T) {
	e := newControllerEnv(t)
	c1 := e.sync(t).AppliedCommit
	out, _, err := runCLI("rollback", c1, "--etcd-endpoints", e.eps, "--timeout", "300ms")
	var code exitCode
	if !errors.As(err, &code) || code != 1 || !strings.Contains(out, "no answer from the controller") {
		t.Fatalf("rollback without a controller: %v\n%s", err, out)
	}
	if ctl, err := e.st.GetControl(context.Background(), syncSource); err != nil || ctl.Pin == nil || ctl.Pin.Commit != c1 {
		t.Fatalf("pin = %+v, %v", ctl.Pin, err)
	}
}

// waitHistory waits until the history has an entry of commit.
func waitHistory(t *testing.T, e *controllerEnv, commit string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		h, _ := e.st.ListHistory(context.Background(), syncSource)
		for _, en := range h {
			if en.Commit.Hash == commit {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no history entry of %s", commit)
}
