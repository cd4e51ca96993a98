package reconciler

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

// recordRollout plays the workload controller: it records the health of commit, web's rollout
// in state (Healthy when Complete).
func recordRollout(t *testing.T, st *store.Store, commit, state string) {
	t.Helper()
	o := api.ObjectStatus{Key: webKey, Sync: api.SyncSynced, Health: api.HealthProgressing,
		Rollout: &api.RolloutStatus{State: state, Want: 2}}
	switch state {
	case api.RolloutComplete:
		o.Health = api.HealthHealthy
	case api.RolloutDeadlineExceeded:
		o.Health, o.Rollout.Reason = api.HealthDegraded, "no progress for 8s: 2 Pods ErrImagePull: image not found"
	}
	h := api.HealthStatus{Source: "default", AppliedCommit: commit, Health: o.Health, Objects: []api.ObjectStatus{o}}
	if err := st.PutHealth(context.Background(), h); err != nil {
		t.Fatal(err)
	}
}

func (e *syncEnv) checkRollout(t *testing.T) api.SyncStatus {
	t.Helper()
	st, err := e.ctrl.CheckRollout(context.Background())
	if err != nil {
		t.Fatalf("check rollout: %v", err)
	}
	return st
}

func (e *syncEnv) pin(t *testing.T) *api.Pin {
	t.Helper()
	ctl, err := e.st.GetControl(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	return ctl.Pin
}

// pushWeb commits web with image (and annotations, a YAML flow map or "") and returns the commit.
func (e *syncEnv) pushWeb(image, annotations string) string {
	y := fixture.DeploymentYAML("web", 2, image)
	if annotations != "" {
		y = strings.Replace(y, "  name: web\n", "  name: web\n  annotations: "+annotations+"\n", 1)
	}
	e.remote.Write("deploy/web.yaml", y)
	return e.remote.CommitAndPush("web " + image)
}

// TestAutoRollbackOnEtcd: with --auto-rollback, a commit whose rollout misses its deadline pins
// the last healthy commit, recorded in the status and history; the rollback's target failing
// too stays Degraded and says so; a manual resume to the same failing commit does not roll back
// twice; a new push resumes by itself; the annotation "false" opts a Deployment out.
func TestAutoRollbackOnEtcd(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, time.Hour)
	e.ctrl = New(e.st, e.ctrl.repo, fixture.Logger(t), Options{Now: fixedNow, AutoRollback: true})
	good := e.remote.Head()
	if st := e.sync(t); !slices.Equal(st.RollbackOnFailure, []string{"default/web"}) {
		t.Fatalf("rollbackOnFailure = %v", st.RollbackOnFailure)
	}
	recordRollout(t, e.st, good, api.RolloutComplete)
	e.checkRollout(t)
	if h := lastEntry(t, e.st); !h.Healthy || h.Commit.Hash != good {
		t.Fatalf("entry of the healthy commit = %+v", h)
	}

	bad := e.pushWeb("nginx:missing", "")
	e.sync(t)
	recordRollout(t, e.st, bad, api.RolloutProgressing)
	if e.checkRollout(t); e.pin(t) != nil {
		t.Fatal("a progressing rollout pinned")
	}
	recordRollout(t, e.st, bad, api.RolloutDeadlineExceeded)
	e.checkRollout(t)
	pin := e.pin(t)
	const reason = "web ProgressDeadlineExceeded: no progress for 8s: 2 Pods ErrImagePull: image not found"
	if pin == nil || pin.Commit != good || pin.From != bad || pin.Reason != reason {
		t.Fatalf("pin = %+v; want %s from %s", pin, good, bad)
	}
	st := e.sync(t)
	want := api.RollbackNote{Commit: bad, Target: good, Reason: reason}
	if st.AppliedCommit != good || st.PinnedCommit != good || st.PinReason != reason || st.AutoRollback == nil || *st.AutoRollback != want {
		t.Fatalf("status after the automatic rollback = %+v", st)
	}
	if h := lastEntry(t, e.st); !h.Rollback || h.RollbackFrom != bad || h.Message != "automatic rollback: "+reason {
		t.Fatalf("history entry of the rollback = %+v", h)
	}
	if st := e.sync(t); st.AppliedCommit != good || st.PinnedCommit != good {
		t.Fatalf("a pass with the branch still at the failing commit: %+v", st)
	}

	// The target fails too: no second rollback, and the status says so.
	recordRollout(t, e.st, good, api.RolloutDeadlineExceeded)
	st = e.checkRollout(t)
	e.checkRollout(t) // recorded once
	if n := st.AutoRollback; n == nil || n.Commit != good || n.Target != "" || !strings.Contains(n.Message, "failed too") {
		t.Fatalf("note after the target failed = %+v", n)
	}
	if p := e.pin(t); p == nil || p.Commit != good {
		t.Fatalf("pin after the target failed: %+v", p)
	}
	if st = e.sync(t); st.AutoRollback == nil || !strings.Contains(st.AutoRollback.Message, "failed too") {
		t.Fatalf("a pass dropped the note: %+v", st.AutoRollback)
	}

	// Resumed by hand at the same failing commit: it was rolled back once; not again.
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "resume"}, store.PinChange{Remove: true}); err != nil {
		t.Fatal(err)
	}
	if st = e.sync(t); st.AppliedCommit != bad || st.PinnedCommit != "" || st.AutoRollback != nil {
		t.Fatalf("status after a resume by hand = %+v", st)
	}
	recordRollout(t, e.st, bad, api.RolloutDeadlineExceeded)
	st = e.checkRollout(t)
	if e.pin(t) != nil || st.AutoRollback == nil || !strings.Contains(st.AutoRollback.Message, "once already") {
		t.Fatalf("second failure of %s: pin %+v, note %+v", bad[:7], e.pin(t), st.AutoRollback)
	}

	// Pinned again by the rule (a fresh failing commit), then a new push resumes by itself.
	bad2 := e.pushWeb("nginx:missing2", "")
	e.sync(t)
	recordRollout(t, e.st, bad2, api.RolloutDeadlineExceeded)
	e.checkRollout(t)
	if st = e.sync(t); st.PinnedCommit != good {
		t.Fatalf("status after the second rollback = %+v", st)
	}
	fixed := e.pushWeb("nginx:1.28", `{gitfleet.io/rollback-on-failure: "false"}`)
	st = e.sync(t)
	if st.AppliedCommit != fixed || st.PinnedCommit != "" || st.AutoRollback != nil || e.pin(t) != nil || len(st.RollbackOnFailure) != 0 {
		t.Fatalf("status after a new push = %+v, pin %+v", st, e.pin(t))
	}
	if h := lastEntry(t, e.st); h.Rollback || h.Commit.Hash != fixed || !strings.HasPrefix(h.Message, "resumed the branch") {
		t.Fatalf("history entry of the resume = %+v", h)
	}
	// Opted out: its failure pins nothing.
	recordRollout(t, e.st, fixed, api.RolloutDeadlineExceeded)
	if st = e.checkRollout(t); e.pin(t) != nil || st.AutoRollback != nil {
		t.Fatalf("an opted-out Deployment rolled back: pin %+v, note %+v", e.pin(t), st.AutoRollback)
	}
}
