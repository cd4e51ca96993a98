package reconciler

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store/embedded"
)

// TestControllerEtcdRefusesCommit runs against an etcd with limits lowered the way an external
// etcd has them by default: a commit of more objects than --max-txn-ops allows is Failed, with
// the refusal and the flag to raise as its error, the commit seen and the applied state kept;
// a commit of more bytes than --max-request-bytes allows is refused alike.
func TestControllerEtcdRefusesCommit(t *testing.T) {
	st, _ := etcdtest.StartConfig(t, embedded.Config{MaxTxnOps: 128, MaxRequestBytes: 256 << 10})
	remote := gittest.NewRemote(t)
	remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 1, "nginx:1.27"))
	remote.CommitAndPush("add web")
	src, err := source.New(source.Config{URL: remote.URL(), Path: "deploy", CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	ctrl := New(st, src, fixture.Logger(t), Options{Now: fixedNow})
	good := syncOK(t, ctrl)

	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d\ndata:\n  k: v\n", i)
	}
	remote.Write("deploy/many.yaml", b.String())
	many := remote.CommitAndPush("add 200 configmaps")
	got := syncOK(t, ctrl)
	checkRefused(t, got, good, many, "too many operations in txn request", "raise etcd's --max-txn-ops, 128 by default, to at least 203")

	remote.Remove("deploy/many.yaml")
	remote.Write("deploy/big.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  k: "+
		strings.Repeat("x", 300<<10)+"\n")
	big := remote.CommitAndPush("add a big configmap")
	got = syncOK(t, ctrl)
	checkRefused(t, got, good, big, "request is too large", "raise etcd's --max-request-bytes, 1572864 (1.5 MiB) by default, to at least ")

	// The refusal is recorded once, however often it is retried.
	got = syncOK(t, ctrl)
	hist, err := st.ListHistory(context.Background(), api.DefaultSource)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(hist); n != 3 || hist[n-1].Result != api.SyncFailed || len(hist[n-1].Errors) != 1 {
		t.Fatalf("history = %+v; want the sync of web and one failure per refused commit", hist)
	}
	if got.Sync != api.SyncFailed {
		t.Fatalf("retry: %s, want still Failed", got.Sync)
	}
}

func syncOK(t *testing.T, ctrl *Controller) api.SyncStatus {
	t.Helper()
	st, err := ctrl.SyncOnce(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return st
}

// checkRefused checks that got, the status after commit was refused, says why and what to do,
// and keeps the commit of good applied.
func checkRefused(t *testing.T, got, good api.SyncStatus, commit, reason, hint string) {
	t.Helper()
	if got.Sync != api.SyncFailed || got.SeenCommit != commit || got.AppliedCommit != good.AppliedCommit {
		t.Fatalf("status %s seen %s applied %s; want Failed, seen %s, applied %s",
			got.Sync, api.ShortHash(got.SeenCommit), api.ShortHash(got.AppliedCommit), api.ShortHash(commit), api.ShortHash(good.AppliedCommit))
	}
	if len(got.Errors) != 1 {
		t.Fatalf("errors = %v; want the refusal", got.Errors)
	}
	msg := got.Errors[0].Message
	if !strings.HasPrefix(msg, "etcd refused the commit: "+reason+" (") || !strings.Contains(msg, hint) || got.Message != msg {
		t.Fatalf("error %q, message %q; want etcd's reason %q and %q", msg, got.Message, reason, hint)
	}
}
