package reconciler

import (
	"context"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/store"
)

// A sync request written to etcd wakes Run at once (it never polls here), and the status names
// the request it answers.
func TestRequestSyncWakesRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newSyncEnv(t, time.Hour)
	done := make(chan error, 1)
	go func() { done <- e.ctrl.Run(ctx) }()
	fixture.WaitFor(t, "first sync", func() bool { return len(e.desired(t)) == 1 })

	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 4, "nginx:1.27"))
	head := e.remote.CommitAndPush("scale")
	var ids []string
	for i := range 2 { // the second finds nothing new and still answers
		tk, err := request.Send(ctx, e.st, "default", request.Ask{Commit: head}, fixedNow())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tk.ID)
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		st, err := request.Wait(wctx, e.st, tk)
		wcancel()
		if err != nil || st.AppliedCommit != head || st.SeenCommit != head || st.Sync != api.SyncSynced {
			t.Fatalf("answer %d = %+v, %v", i, st, err)
		}
	}
	if n := replicasOf(t, e.desired(t), webKey); n != 4 {
		t.Fatalf("replicas = %d, want 4", n)
	}
	// Only the first request made an attempt.
	if h := historyOf(t, e); len(h) != 2 || h[1].Commit.Hash != head {
		t.Fatalf("history = %+v", h)
	}
	// A request of another source does not answer for this one.
	if _, err := e.st.RequestSync(ctx, "other", api.SyncRequest{ID: "x"}, store.PinChange{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if st, _ := e.st.GetSync(ctx, "default"); st.RequestID != ids[1] {
		t.Fatalf("status answers %q, want %s", st.RequestID, ids[1])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
