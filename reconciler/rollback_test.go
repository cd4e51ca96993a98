package reconciler

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

// rollbackEnv is a syncEnv with web at 2, 3 and 4 replicas in three synced commits.
func rollbackEnv(t *testing.T) (*syncEnv, []string) {
	t.Helper()
	e := newSyncEnv(t, time.Hour)
	commits := []string{e.remote.Head()}
	e.sync(t)
	for _, n := range []int{3, 4} {
		e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", n, "nginx:1.27"))
		commits = append(commits, e.remote.CommitAndPush("scale web"))
		e.sync(t)
	}
	return e, commits
}

func TestRollbackPinsAndResumes(t *testing.T) {
	ctx := context.Background()
	e, c := rollbackEnv(t)
	commit, req, err := request.Rollback(ctx, e.st, "default", c[0][:7], fixedNow())
	if err != nil || commit.Hash != c[0] || req.ID == "" {
		t.Fatalf("rollback = %+v, %+v, %v", commit, req, err)
	}
	if ctl, err := e.st.GetControl(ctx, "default"); err != nil || ctl.Pin == nil || ctl.Pin.Commit != c[0] ||
		ctl.Pin.Time != "2026-01-02T03:04:05Z" {
		t.Fatalf("pin = %+v, %v", ctl.Pin, err)
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
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 5, "nginx:1.27"))
	c4 := e.remote.CommitAndPush("scale to 5")
	if st = e.sync(t); st.SeenCommit != c4 || st.AppliedCommit != c[0] || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("status of a push while pinned = %+v", st)
	}

	// Resume (what gitfleet sync --resume does): the branch head applies again.
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "resume"}, store.PinChange{Remove: true}); err != nil {
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
	src, err := source.New(source.Config{URL: e.remote.URL(), Path: "deploy", CacheDir: filepath.Join(t.TempDir(), "fresh")})
	if err != nil {
		t.Fatal(err)
	}
	e.ctrl = New(e.st, src, fixture.Logger(t), Options{Now: fixedNow})
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "pin"}, store.PinChange{Set: &api.Pin{Commit: c[0]}}); err != nil {
		t.Fatal(err)
	}
	st := e.sync(t)
	if st.AppliedCommit != c[0] || st.Commit.Message != "add web" || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("status after a rollback to an unfetched commit = %+v", st)
	}

	const bogus = "0123456789abcdef0123456789abcdef01234567"
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "pin"}, store.PinChange{Set: &api.Pin{Commit: bogus}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "bogus"}, store.PinChange{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ctrl.SyncOnce(ctx); !errors.Is(err, source.ErrNotOnBranch) {
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
		if _, _, err := request.Rollback(ctx, e.st, "default", prefix, fixedNow()); !errors.Is(err, request.ErrUnknownCommit) {
			t.Errorf("rollback to %q: %v, want ErrUnknownCommit", prefix, err)
		}
	}
	if ctl, err := e.st.GetControl(ctx, "default"); err != nil || ctl.Pin != nil {
		t.Fatalf("a refused rollback left a pin: %+v, %v", ctl.Pin, err)
	}
}

// Run answers a rollback through etcd alone: the pin and request keys wake it, and request.Wait
// sees the answer.
func TestRollbackThroughRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, c := rollbackEnv(t)
	done := make(chan error, 1)
	go func() { done <- e.ctrl.Run(ctx) }()
	fixture.WaitFor(t, "first pass", func() bool { return replicasOf(t, e.desired(t), webKey) == 4 })

	_, req, err := request.Rollback(ctx, e.st, "default", c[1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	st, err := request.Wait(wctx, e.st, req)
	if err != nil || st.AppliedCommit != c[1] || st.PinnedCommit != c[1] || st.Sync != api.SyncSynced {
		t.Fatalf("answer to the rollback = %+v, %v", st, err)
	}
	if n := replicasOf(t, e.desired(t), webKey); n != 3 {
		t.Fatalf("replicas after rollback = %d, want 3", n)
	}
	// Deleting the pin alone wakes Run too.
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "resume"}, store.PinChange{Remove: true}); err != nil {
		t.Fatal(err)
	}
	fixture.WaitFor(t, "resume", func() bool { return replicasOf(t, e.desired(t), webKey) == 4 })

	wctx, wcancel = context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	never := request.Ticket{Source: "default", ID: "never-sent", Revision: e.revision(t) + 1000}
	if _, err := request.Wait(wctx, e.st, never); !errors.Is(err, request.ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait for a request never sent: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
