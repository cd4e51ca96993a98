package reconciler

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// rollbackEnv is a syncEnv with web at 2, 3 and 4 replicas in three synced commits.
func rollbackEnv(t *testing.T) (*syncEnv, []string) {
	t.Helper()
	e := newSyncEnv(t, time.Hour)
	commits := []string{e.remote.Head()}
	e.sync(t)
	for _, n := range []int{3, 4} {
		e.remote.Write("deploy/web.yaml", deploymentYAML("web", n, "nginx:1.27"))
		commits = append(commits, e.remote.CommitAndPush("scale web"))
		e.sync(t)
	}
	return e, commits
}

func TestRollbackPinsAndResumes(t *testing.T) {
	ctx := context.Background()
	e, c := rollbackEnv(t)
	commit, req, err := Rollback(ctx, e.st, "default", c[0][:7], fixedNow())
	if err != nil || commit.Hash != c[0] || req.ID == "" {
		t.Fatalf("rollback = %+v, %+v, %v", commit, req, err)
	}
	if pin, err := e.st.GetPin(ctx, "default"); err != nil || pin.Commit != c[0] || pin.Time != "2026-01-02T03:04:05Z" {
		t.Fatalf("pin = %+v, %v", pin, err)
	}
	st := e.sync(t)
	if st.Sync != api.SyncSynced || st.AppliedCommit != c[0] || st.PinnedCommit != c[0] || st.SeenCommit != c[2] ||
		st.RequestID != req.ID || st.Commit.Hash != c[0] || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("status after rollback = %+v", st)
	}
	if h := lastEntry(t, e.st); !h.Rollback || h.Commit.Hash != c[0] || h.Result != api.SyncSynced ||
		strings.Join(h.Changes, ",") != "~ Deployment/default/web" {
		t.Fatalf("history entry of the rollback = %+v", h)
	}

	// A push while pinned is seen, not applied.
	e.remote.Write("deploy/web.yaml", deploymentYAML("web", 5, "nginx:1.27"))
	c4 := e.remote.CommitAndPush("scale to 5")
	if st = e.sync(t); st.SeenCommit != c4 || st.AppliedCommit != c[0] || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("status of a push while pinned = %+v", st)
	}

	// Resume (what gitfleet sync --resume does): the branch head applies again.
	if err := e.st.DeletePin(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	st = e.sync(t)
	if st.Sync != api.SyncSynced || st.AppliedCommit != c4 || st.PinnedCommit != "" || replicasOf(t, e.desired(t), webKey) != 5 {
		t.Fatalf("status after resume = %+v", st)
	}
	if h := lastEntry(t, e.st); h.Rollback || h.Commit.Hash != c4 {
		t.Fatalf("history entry after resume = %+v", h)
	}
}

// A controller that never fetched the pinned commit (a new cache: Fetch downloads only the
// head) gets it with Ensure; a pin that names no commit of the branch fails, keeping the state.
func TestRollbackToACommitNotFetched(t *testing.T) {
	ctx := context.Background()
	e, c := rollbackEnv(t)
	src, err := NewSource(SourceConfig{URL: e.remote.URL(), Path: "deploy", CacheDir: filepath.Join(t.TempDir(), "fresh")})
	if err != nil {
		t.Fatal(err)
	}
	e.ctrl = New(e.st, src, testLogger(t), Options{Now: fixedNow})
	if err := e.st.PutPin(ctx, "default", api.Pin{Commit: c[0]}); err != nil {
		t.Fatal(err)
	}
	st := e.sync(t)
	if st.AppliedCommit != c[0] || st.Commit.Message != "add web" || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("status after a rollback to an unfetched commit = %+v", st)
	}

	const bogus = "0123456789abcdef0123456789abcdef01234567"
	if err := e.st.PutPin(ctx, "default", api.Pin{Commit: bogus}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "bogus"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ctrl.SyncOnce(ctx); !errors.Is(err, ErrNotOnBranch) {
		t.Fatalf("sync pinned at a bogus commit: %v, want ErrNotOnBranch", err)
	}
	st, err = e.st.GetSync(ctx, "default")
	if err != nil || st.Sync != api.SyncFailed || st.RequestID != "bogus" || st.AppliedCommit != c[0] ||
		!strings.HasPrefix(st.Message, "rollback to "+bogus[:12]) || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("status pinned at a bogus commit = %+v, %v", st, err)
	}
	if h := lastEntry(t, e.st); !h.Rollback || h.Result != api.SyncFailed || h.Commit.Hash != bogus {
		t.Fatalf("history entry of the bogus rollback = %+v", h)
	}
}

func TestRollbackRefusesUnknownCommits(t *testing.T) {
	ctx := context.Background()
	e, _ := rollbackEnv(t)
	e.remote.Write("deploy/web.yaml", "kind: Nope\n")
	bad := e.remote.CommitAndPush("bad")
	e.sync(t)
	for _, prefix := range []string{bad[:8], "ffffffff", ""} {
		if _, _, err := Rollback(ctx, e.st, "default", prefix, fixedNow()); !errors.Is(err, ErrUnknownCommit) {
			t.Errorf("rollback to %q: %v, want ErrUnknownCommit", prefix, err)
		}
	}
	if _, err := e.st.GetPin(ctx, "default"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused rollback left a pin: %v", err)
	}
}

// Run answers a rollback through etcd alone: the pin and request keys wake it, and WaitRequest
// sees the answer.
func TestRollbackThroughRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, c := rollbackEnv(t)
	done := make(chan error, 1)
	go func() { done <- e.ctrl.Run(ctx) }()
	waitFor(t, "first pass", func() bool { return replicasOf(t, e.desired(t), webKey) == 4 })

	_, req, err := Rollback(ctx, e.st, "default", c[1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	st, err := WaitRequest(wctx, e.st, "default", req.ID)
	if err != nil || st.AppliedCommit != c[1] || st.PinnedCommit != c[1] || st.Sync != api.SyncSynced {
		t.Fatalf("answer to the rollback = %+v, %v", st, err)
	}
	if n := replicasOf(t, e.desired(t), webKey); n != 3 {
		t.Fatalf("replicas after rollback = %d, want 3", n)
	}
	// Deleting the pin alone wakes Run too.
	if err := e.st.DeletePin(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "resume", func() bool { return replicasOf(t, e.desired(t), webKey) == 4 })

	wctx, wcancel = context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	if _, err := WaitRequest(wctx, e.st, "default", "never-sent"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait for a request never sent: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
