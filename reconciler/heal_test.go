package reconciler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// putReplicas writes web with n replicas into etcd behind git's back.
func putReplicas(t *testing.T, e *syncEnv, n int32) {
	t.Helper()
	d := e.desired(t)[webKey].Object.(*api.Deployment)
	*d.Spec.Replicas = n
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, e.st, store.Desired, "Deployment/default/web", string(b))
}

// Without self-heal, drift is reported, not reverted, and records no history; a new commit or
// a sync request reverts it.
func TestSelfHealOffReportsDrift(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, time.Hour)
	e.ctrl = New(e.st, e.ctrl.repo, fixture.Logger(t), Options{Now: fixedNow, DisableSelfHeal: true})
	c1 := e.sync(t).AppliedCommit
	entries := len(historyOf(t, e))

	putReplicas(t, e, 9)
	st := e.sync(t)
	if st.Sync != api.SyncOutOfSync || st.AppliedCommit != c1 || !strings.Contains(st.Message, "Deployment/default/web") ||
		!strings.Contains(st.Message, "self-heal is off") || replicasOf(t, e.desired(t), webKey) != 9 {
		t.Fatalf("drift without self-heal: status %+v, replicas %d", st, replicasOf(t, e.desired(t), webKey))
	}
	rev := e.revision(t)
	if _, err := e.ctrl.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if e.revision(t) != rev || len(historyOf(t, e)) != entries {
		t.Fatal("reporting the same drift again wrote to etcd")
	}

	// A push reverts the drift with the commit's changes.
	e.remote.Write("deploy/api.yaml", fixture.DeploymentYAML("api", 1, "api:v1"))
	c2 := e.remote.CommitAndPush("add api")
	st = e.sync(t)
	if st.Sync != api.SyncSynced || st.AppliedCommit != c2 || st.Message != "" || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("push after drift: status %+v", st)
	}

	// So does a sync request, once.
	putReplicas(t, e, 7)
	if st = e.sync(t); st.Sync != api.SyncOutOfSync {
		t.Fatalf("second drift: %+v", st)
	}
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "heal"}, store.PinChange{}); err != nil {
		t.Fatal(err)
	}
	if st = e.sync(t); st.Sync != api.SyncSynced || st.RequestID != "heal" || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("sync request after drift: status %+v", st)
	}
	putReplicas(t, e, 6)
	if st = e.sync(t); st.Sync != api.SyncOutOfSync || replicasOf(t, e.desired(t), webKey) != 6 {
		t.Fatalf("an answered request reverted later drift: %+v", st)
	}
}

// With self-heal (the default), the watch reverts drift within a pass and the history says so.
func TestSelfHealOnRevertsDriftThroughRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newSyncEnv(t, time.Hour)
	done := make(chan error, 1)
	go func() { done <- e.ctrl.Run(ctx) }()
	fixture.WaitFor(t, "first sync", func() bool { return len(e.desired(t)) == 1 })
	putReplicas(t, e, 9)
	fixture.WaitFor(t, "drift reverted", func() bool { return replicasOf(t, e.desired(t), webKey) == 2 })
	fixture.WaitFor(t, "history of the revert", func() bool {
		h := historyOf(t, e)
		return strings.HasPrefix(h[len(h)-1].Message, "reverted 1 desired objects")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// Without self-heal, the watch reports drift within a pass.
func TestSelfHealOffReportsDriftThroughRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newSyncEnv(t, time.Hour)
	e.ctrl = New(e.st, e.ctrl.repo, fixture.Logger(t), Options{Now: fixedNow, DisableSelfHeal: true})
	done := make(chan error, 1)
	go func() { done <- e.ctrl.Run(ctx) }()
	fixture.WaitFor(t, "first sync", func() bool { return len(e.desired(t)) == 1 })
	putReplicas(t, e, 9)
	fixture.WaitFor(t, "drift reported", func() bool {
		st, err := e.st.GetSync(ctx, "default")
		return err == nil && st.Sync == api.SyncOutOfSync
	})
	if n := replicasOf(t, e.desired(t), webKey); n != 9 {
		t.Fatalf("replicas = %d, want the drifted 9", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
