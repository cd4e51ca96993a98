package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

const fakeCommit = "c0ffee0123456789c0ffee0123456789c0ffee01"

func webDeployment(replicas int32) *api.Deployment {
	return &api.Deployment{
		TypeMeta: api.TypeMeta{APIVersion: "apps/v1", Kind: api.KindDeployment},
		Metadata: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.DeploymentSpec{Replicas: &replicas, Template: api.PodTemplateSpec{
			Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "busybox"}}},
		}},
	}
}

// fakeController plays the sync controller for the sync CLI: it waits for a sync request,
// answers it with answer's status (and history entry, and writes), then runs then. The test
// waits for it before its etcd stops (ctx must end when the test function returns).
func fakeController(t *testing.T, ctx context.Context, s *store.Store, answer func(req api.SyncRequest) store.SyncRecord, then func()) {
	t.Helper()
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			ctl, err := s.GetControl(ctx, syncSource)
			if err != nil || ctl.Request == nil {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			rec := answer(*ctl.Request)
			if rec.Status.RequestRevision == 0 {
				rec.Status.RequestID, rec.Status.RequestRevision = ctl.Request.ID, ctl.Request.Revision
			}
			// the write outlives ctx, as recordHealth's: the CLI may see it and end the test
			// function (cancelling ctx) before the response reaches this client
			if _, err := s.CommitSync(context.WithoutCancel(ctx), rec); err != nil {
				t.Errorf("fake controller: %v", err)
				return
			}
			if then != nil {
				then()
			}
			return
		}
	}()
}

// recordHealth plays the workload controller: it records health h of commit, its Ready and
// Want summed from its objects. The write outlives ctx: the CLI may see it and end the test
// function before the response reaches this client.
func recordHealth(t *testing.T, ctx context.Context, s *store.Store, commit, health string, objects ...api.ObjectStatus) {
	t.Helper()
	h := api.HealthStatus{Source: syncSource, AppliedCommit: commit, Health: health, Objects: objects}
	for _, o := range objects {
		h.Ready, h.Want = h.Ready+o.Ready, h.Want+o.Want
	}
	if err := s.PutHealth(context.WithoutCancel(ctx), h); err != nil {
		t.Errorf("record health: %v", err)
	}
}

// webStatus is the status of Deployment web with ready of want Pods.
func webStatus(health string, ready, want int, msg string) api.ObjectStatus {
	return api.ObjectStatus{Key: api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"},
		Sync: api.SyncSynced, Health: health, Ready: ready, Want: want, Message: msg}
}

// syncedWeb answers a request with web created at fakeCommit.
func syncedWeb(d *api.Deployment) func(req api.SyncRequest) store.SyncRecord {
	return func(req api.SyncRequest) store.SyncRecord {
		st := api.SyncStatus{Source: syncSource, SeenCommit: fakeCommit, AppliedCommit: fakeCommit,
			Sync: api.SyncSynced, Changes: api.ChangeSummary{Created: 1}, RequestID: req.ID}
		return store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(d), Object: d}}, Status: st,
			History: &api.HistoryEntry{Commit: api.CommitInfo{Hash: fakeCommit}, Result: api.SyncSynced,
				Changes: []string{"+ Deployment/default/web"}}}
	}
}

func syncCLI(t *testing.T, eps []string, args ...string) (string, error) {
	t.Helper()
	stdout, stderr, err := runCLI(append([]string{"sync", "--etcd-endpoints", strings.Join(eps, ",")}, args...)...)
	t.Logf("gitfleet sync %v: %v\nstdout:\n%sstderr:\n%s", args, err, stdout, stderr)
	return stdout, err
}

func TestSyncWaitReportsChangesAndHealth(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, eps := etcdtest.StartWithEndpoints(t)
	d := webDeployment(2)
	fakeController(t, ctx, s, syncedWeb(d), func() {
		recordHealth(t, ctx, s, "0ld", api.HealthHealthy) // about another commit: not shown
		recordHealth(t, ctx, s, fakeCommit, api.HealthMissing, webStatus(api.HealthMissing, 0, 2, "0/2 ready; no pods yet"))
		time.Sleep(300 * time.Millisecond) // let the CLI see the Deployment without Pods
		recordHealth(t, ctx, s, fakeCommit, api.HealthHealthy, webStatus(api.HealthHealthy, 2, 2, "2/2 ready"))
	})
	out, err := syncCLI(t, eps, "--wait", "--commit", fakeCommit[:12], "--timeout", "20s")
	if err != nil {
		t.Fatalf("sync --wait: %v", err)
	}
	wantLines(t, out,
		"sync: requested ",
		"sync: c0ffee012345 Synced: 1 created, 0 changed, 0 deleted",
		"  + Deployment/default/web",
		"web: Missing: 0/2 ready; no pods yet",
		"web: Healthy: 2/2 ready",
		"health: Healthy (2/2 pods running)")
}

func TestSyncWaitFailsOnBadCommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, eps := etcdtest.StartWithEndpoints(t)
	fakeController(t, ctx, s, func(req api.SyncRequest) store.SyncRecord {
		return store.SyncRecord{Status: api.SyncStatus{Source: syncSource, SeenCommit: fakeCommit, Sync: api.SyncFailed,
			RequestID: req.ID, Message: "commit c0ffee012345 has 1 errors; nothing from it was applied",
			Errors: []api.FieldError{{File: "deploy/broken.yaml", Line: 7, Field: "spec.replicaz", Message: "unknown field"}}}}
	}, nil)
	out, err := syncCLI(t, eps, "--wait", "--timeout", "20s")
	if code := new(exitCode); !errors.As(err, code) || *code != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	wantLines(t, out,
		"sync: c0ffee012345 Failed: commit c0ffee012345 has 1 errors",
		"  deploy/broken.yaml:7: spec.replicaz: unknown field")
}

func TestSyncWaitFailsWhenDegraded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, eps := etcdtest.StartWithEndpoints(t)
	d := webDeployment(1)
	fakeController(t, ctx, s, syncedWeb(d), func() {
		recordHealth(t, ctx, s, fakeCommit, api.HealthDegraded, webStatus(api.HealthDegraded, 0, 1,
			"0/1 ready; web-a: 0/1 nodes are available: 1 Insufficient memory."))
	})
	out, err := syncCLI(t, eps, "--wait", "--timeout", "20s")
	if code := new(exitCode); !errors.As(err, code) || *code != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	wantLines(t, out, "health: Degraded: web: 0/1 ready; web-a: 0/1 nodes are available: 1 Insufficient memory.")
}

func TestSyncWaitTimesOutWithoutController(t *testing.T) {
	_, eps := etcdtest.StartWithEndpoints(t)
	out, err := syncCLI(t, eps, "--wait", "--timeout", "1s")
	if code := new(exitCode); !errors.As(err, code) || *code != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	wantLines(t, out, "sync: requested ", "sync: no answer from the controller in 1s")
}

func TestSyncResumeDeletesPin(t *testing.T) {
	ctx := context.Background()
	s, eps := etcdtest.StartWithEndpoints(t)
	if _, err := s.RequestSync(ctx, syncSource, api.SyncRequest{ID: "pin"}, store.PinChange{Set: &api.Pin{Commit: fakeCommit}}); err != nil {
		t.Fatal(err)
	}
	if _, err := syncCLI(t, eps, "--resume", "--allow-mass-prune"); err != nil {
		t.Fatal(err)
	}
	ctl, err := s.GetControl(ctx, syncSource)
	if err != nil || ctl.Pin != nil {
		t.Fatalf("pin after --resume: %+v, %v; want none", ctl.Pin, err)
	}
	if req := ctl.Request; req == nil || req.ID == "" || req.ID == "pin" || !req.AllowMassPrune {
		t.Fatalf("request = %+v; want a new one allowing mass prune", req)
	}
}

func TestSyncNotReachable(t *testing.T) {
	_, stderr, err := runCLI("sync", "--wait", "--data-dir", t.TempDir())
	if code := new(exitCode); !errors.As(err, code) || *code != 2 {
		t.Fatalf("err = %v, want exit 2", err)
	}
	if !strings.HasPrefix(stderr, "gitfleet: not reachable: ") {
		t.Fatalf("stderr = %q", stderr)
	}
}

// A request replaced by a newer one before the controller read it is never answered: the
// answer to the newer one (written at a later revision), which fetched after our push, is ours
// too.
func TestSyncWaitAcceptsTheAnswerToANewerRequest(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, eps := etcdtest.StartWithEndpoints(t)
	const newer = "beef00000000000000000000000000000000beef"
	fakeController(t, ctx, s, func(api.SyncRequest) store.SyncRecord {
		rev, err := s.RequestSync(ctx, syncSource, api.SyncRequest{ID: "newer", Commit: newer}, store.PinChange{})
		if err != nil {
			t.Error(err)
		}
		return store.SyncRecord{Status: api.SyncStatus{Source: syncSource, SeenCommit: newer, AppliedCommit: newer,
			Sync: api.SyncSynced, RequestID: "newer", RequestRevision: rev}}
	}, func() { recordHealth(t, ctx, s, newer, api.HealthHealthy) })
	out, err := syncCLI(t, eps, "--wait", "--commit", fakeCommit, "--timeout", "20s")
	if err != nil {
		t.Fatalf("sync --wait: %v", err)
	}
	wantLines(t, out,
		"sync: the branch is at beef00000000 now, not c0ffee012345; reporting that",
		"sync: beef00000000 Synced: 0 created, 0 changed, 0 deleted",
		"health: Healthy (0/0 pods running)")
}

// webRolling is web's status with its rollout in state, updated of 4 Pods of the new template
// and ready of all.
func webRolling(health, state string, updated, ready int) api.ObjectStatus {
	o := webStatus(health, ready, 4, "")
	o.Rollout = &api.RolloutStatus{State: state, Want: 4, Replicas: 4 + min(updated, 1), Updated: updated, Ready: ready,
		DeadlineSeconds: 8}
	if state == api.RolloutDeadlineExceeded {
		o.Rollout.Reason = "no progress for 8s: 0 of 4 updated Pods available; 2 Pods ErrImagePull"
		o.Message = "3/4 ready; ProgressDeadlineExceeded: " + o.Rollout.Reason
	}
	return o
}

// rollingWeb answers a request with web changed at fakeCommit, rolling back on failure; first
// it records first, the health the CLI reads first.
func rollingWeb(t *testing.T, ctx context.Context, s *store.Store, first api.ObjectStatus) func(req api.SyncRequest) store.SyncRecord {
	return func(req api.SyncRequest) store.SyncRecord {
		recordHealth(t, ctx, s, fakeCommit, first.Health, first)
		rec := syncedWeb(webDeployment(4))(req)
		rec.Status.Changes = api.ChangeSummary{Updated: 1}
		rec.Status.RollbackOnFailure = []string{"default/web"}
		rec.History.Changes = []string{"~ Deployment/default/web"}
		return rec
	}
}

// updateStatus plays the sync controller deciding about a rollback: it changes the recorded
// status (keeping the request it answers).
func updateStatus(t *testing.T, ctx context.Context, s *store.Store, change func(*api.SyncStatus)) {
	t.Helper()
	ctx = context.WithoutCancel(ctx)
	st, err := s.GetSync(ctx, syncSource)
	if err != nil {
		t.Error(err)
		return
	}
	change(&st)
	if _, err := s.CommitSync(ctx, store.SyncRecord{Status: st}); err != nil {
		t.Error(err)
	}
}

// The push output of a rollout: progress lines at most once a second, then the end.
func TestSyncWaitShowsRolloutProgress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, eps := etcdtest.StartWithEndpoints(t)
	first := webRolling(api.HealthProgressing, api.RolloutProgressing, 1, 4)
	fakeController(t, ctx, s, rollingWeb(t, ctx, s, first), func() {
		time.Sleep(1100 * time.Millisecond)
		recordHealth(t, ctx, s, fakeCommit, api.HealthProgressing, webRolling(api.HealthProgressing, api.RolloutProgressing, 3, 3))
		time.Sleep(300 * time.Millisecond) // let the CLI see it
		recordHealth(t, ctx, s, fakeCommit, api.HealthHealthy, webRolling(api.HealthHealthy, api.RolloutComplete, 4, 4))
	})
	out, err := syncCLI(t, eps, "--wait", "--commit", fakeCommit)
	if err != nil {
		t.Fatalf("sync --wait: %v", err)
	}
	wantLines(t, out,
		"sync: c0ffee012345 Synced: 0 created, 1 changed, 0 deleted",
		"  ~ Deployment/default/web",
		"web: 1/4 updated, 4 ready",
		"web: 3/4 updated, 3 ready",
		"web: Healthy",
		"health: Healthy (4/4 pods running)")
}

// A rollout that rolls back on failure and misses its deadline: the push output says the
// controller rolled back, and sync exits 1.
func TestSyncWaitReportsAutomaticRollback(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, eps := etcdtest.StartWithEndpoints(t)
	const good = "900d00000000000000000000000000000000900d"
	const reason = "web ProgressDeadlineExceeded: no progress for 8s: 0 of 4 updated Pods available; 2 Pods ErrImagePull"
	// Pods failing before the deadline: Degraded, but the rollout is still under way.
	first := webRolling(api.HealthDegraded, api.RolloutProgressing, 2, 3)
	fakeController(t, ctx, s, rollingWeb(t, ctx, s, first), func() {
		time.Sleep(300 * time.Millisecond)
		recordHealth(t, ctx, s, fakeCommit, api.HealthDegraded, webRolling(api.HealthDegraded, api.RolloutDeadlineExceeded, 2, 3))
		time.Sleep(300 * time.Millisecond)
		updateStatus(t, ctx, s, func(st *api.SyncStatus) {
			st.AppliedCommit, st.PinnedCommit, st.PinReason = good, good, reason
			st.AutoRollback = &api.RollbackNote{Commit: fakeCommit, Target: good, Reason: reason}
		})
	})
	out, err := syncCLI(t, eps, "--wait", "--commit", fakeCommit)
	if code := new(exitCode); !errors.As(err, code) || *code != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	wantLines(t, out,
		"web: 2/4 updated, 3 ready",
		"web: Degraded: ProgressDeadlineExceeded: no progress for 8s",
		"health: rolled back to 900d00000000: "+reason,
		"sync: pinned at 900d00000000 by an automatic rollback; the next push resumes")
}

// A Deployment that rolls back on failure with no earlier healthy commit: Degraded, and why
// there was no rollback.
func TestSyncWaitReportsNoRollback(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, eps := etcdtest.StartWithEndpoints(t)
	fakeController(t, ctx, s, rollingWeb(t, ctx, s, webRolling(api.HealthDegraded, api.RolloutDeadlineExceeded, 2, 3)), func() {
		updateStatus(t, ctx, s, func(st *api.SyncStatus) {
			st.AutoRollback = &api.RollbackNote{Commit: fakeCommit, Reason: "web ...",
				Message: "no automatic rollback: no earlier commit of the history became Healthy"}
		})
	})
	out, err := syncCLI(t, eps, "--wait", "--commit", fakeCommit)
	if code := new(exitCode); !errors.As(err, code) || *code != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	wantLines(t, out,
		"health: Degraded: web: 3/4 ready; ProgressDeadlineExceeded",
		"rollback: no automatic rollback: no earlier commit of the history became Healthy")
}

// Progress lines of rollouts under way are printed at most once a second, and only changed.
func TestProgressRateLimit(t *testing.T) {
	var b strings.Builder
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress(&b, func() time.Time { return now })
	rec := func(updated, ready int) api.HealthStatus {
		return api.HealthStatus{Health: api.HealthProgressing, Objects: []api.ObjectStatus{webRolling(api.HealthProgressing, api.RolloutProgressing, updated, ready)}}
	}
	p.show(rec(1, 4))
	now = now.Add(500 * time.Millisecond)
	p.show(rec(2, 4)) // too soon
	now = now.Add(600 * time.Millisecond)
	p.show(rec(2, 4))
	now = now.Add(2 * time.Second)
	p.show(rec(2, 4)) // unchanged
	p.end(api.HealthStatus{Health: api.HealthHealthy, Objects: []api.ObjectStatus{webRolling(api.HealthHealthy, api.RolloutComplete, 4, 4)}})
	if want := "web: 1/4 updated, 4 ready\nweb: 2/4 updated, 4 ready\nweb: Healthy\n"; b.String() != want {
		t.Fatalf("progress:\n%s\nwant:\n%s", b.String(), want)
	}
}
