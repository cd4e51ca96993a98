package reconciler

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
	"github.com/gitfleet/gitfleet/workload"
)

var fixedNow = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// syncEnv is a real etcd, a real bare repository and a controller following its deploy/ dir.
type syncEnv struct {
	st     *store.Store
	remote *gittest.Remote
	ctrl   *Controller
}

func newSyncEnv(t *testing.T, poll time.Duration) *syncEnv {
	t.Helper()
	e := &syncEnv{st: etcdtest.Start(t), remote: gittest.NewRemote(t)}
	e.remote.Write("README.md", "manifests live in deploy/\n")
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 2, "nginx:1.27"))
	e.remote.CommitAndPush("add web")
	src, err := source.New(source.Config{URL: e.remote.URL(), Path: "deploy", PollInterval: poll,
		CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	e.ctrl = New(e.st, src, fixture.Logger(t), Options{Now: fixedNow})
	return e
}

func (e *syncEnv) sync(t *testing.T) api.SyncStatus {
	t.Helper()
	st, err := e.ctrl.SyncOnce(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return st
}

func (e *syncEnv) desired(t *testing.T) map[api.Key]store.DesiredObject {
	t.Helper()
	live, _, err := e.st.ListDesired(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return live
}

func (e *syncEnv) revision(t *testing.T) int64 {
	t.Helper()
	rev, err := e.st.Revision(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

var webKey = api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"}

func replicasOf(t *testing.T, live map[api.Key]store.DesiredObject, k api.Key) int32 {
	t.Helper()
	d, ok := live[k].Object.(*api.Deployment)
	if !ok {
		t.Fatalf("%s missing from desired state (have %d objects)", k, len(live))
	}
	return *d.Spec.Replicas
}

func TestControllerSyncLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, time.Hour)
	c1 := e.remote.Head()

	st := e.sync(t)
	if st.Sync != api.SyncSynced || st.AppliedCommit != c1 || st.SeenCommit != c1 || st.Changes.Created != 1 ||
		st.Path != "deploy" || st.Branch != "main" || st.Time != "2026-01-02T03:04:05Z" {
		t.Fatalf("first sync status = %+v", st)
	}
	live := e.desired(t)
	ann := live[webKey].Object.GetMeta().Annotations
	if ann[api.AnnotationCommit] != c1 || ann[api.AnnotationSource] != "deploy/web.yaml:2" {
		t.Fatalf("annotations = %v", ann)
	}

	// Nothing moved: the pass writes nothing at all.
	rev := e.revision(t)
	e.sync(t)
	if got := e.revision(t); got != rev {
		t.Fatalf("idle pass moved etcd from revision %d to %d", rev, got)
	}

	// A commit outside the objects: recorded as applied, objects untouched (no diff noise).
	e.remote.Write("README.md", "docs only\n")
	c2 := e.remote.CommitAndPush("docs")
	st = e.sync(t)
	if st.AppliedCommit != c2 || st.Changes != (api.ChangeSummary{Unchanged: 1}) {
		t.Fatalf("docs-only sync status = %+v", st)
	}
	if got := e.desired(t)[webKey]; got.ModRevision != live[webKey].ModRevision {
		t.Fatal("docs-only commit rewrote the unchanged Deployment")
	}

	// An update.
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 3, "nginx:1.27"))
	c3 := e.remote.CommitAndPush("scale web")
	st = e.sync(t)
	live = e.desired(t)
	if st.Changes.Updated != 1 || replicasOf(t, live, webKey) != 3 ||
		live[webKey].Object.GetMeta().Annotations[api.AnnotationCommit] != c3 {
		t.Fatalf("update: status %+v, replicas %d", st, replicasOf(t, live, webKey))
	}

	// A bad commit changes nothing, not even its valid parts.
	e.remote.Write("deploy/api.yaml", fixture.DeploymentYAML("api", 1, "api:v1"))
	e.remote.Write("deploy/bad.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: many\n")
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 5, "nginx:1.27"))
	c4 := e.remote.CommitAndPush("bad")
	st = e.sync(t)
	if st.Sync != api.SyncFailed || st.SeenCommit != c4 || st.AppliedCommit != c3 || len(st.Errors) == 0 {
		t.Fatalf("bad commit status = %+v", st)
	}
	if fe := st.Errors[0]; fe.File != "deploy/bad.yaml" || fe.Line < 1 {
		t.Fatalf("first error = %+v, want one in deploy/bad.yaml with a line", fe)
	}
	live = e.desired(t)
	if len(live) != 1 || replicasOf(t, live, webKey) != 3 {
		t.Fatalf("after bad commit: %d objects, web replicas %d; want the state of %s", len(live),
			replicasOf(t, live, webKey), c3)
	}
	stored, err := e.st.GetSync(ctx, "default")
	if err != nil || stored.Sync != api.SyncFailed || len(stored.Errors) != len(st.Errors) {
		t.Fatalf("stored status = %+v, %v", stored, err)
	}

	// Fixing it by removing the bad file and web: api is created, web is pruned. Pruning every
	// live object needs an allowance (see prune_test.go); a sync request gives it.
	e.remote.Remove("deploy/bad.yaml")
	e.remote.Remove("deploy/web.yaml")
	c5 := e.remote.CommitAndPush("fix")
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "fix", AllowMassPrune: true}, store.PinChange{}); err != nil {
		t.Fatal(err)
	}
	st = e.sync(t)
	live = e.desired(t)
	if st.Sync != api.SyncSynced || st.AppliedCommit != c5 || len(st.Errors) != 0 ||
		st.Changes != (api.ChangeSummary{Created: 1, Deleted: 1}) || len(live) != 1 {
		t.Fatalf("prune: status %+v, %d objects", st, len(live))
	}
	apiKey := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "api"}
	if replicasOf(t, live, apiKey) != 1 {
		t.Fatal("api not created")
	}

	// A fetch error: an error, the status says so, and nothing is pruned.
	e.remote.Break()
	if _, err := e.ctrl.SyncOnce(ctx); err == nil {
		t.Fatal("sync from a removed remote succeeded")
	}
	if live = e.desired(t); len(live) != 1 {
		t.Fatalf("after fetch error: %d objects, want 1", len(live))
	}
	stored, err = e.st.GetSync(ctx, "default")
	if err != nil || stored.Sync != api.SyncFailed || stored.AppliedCommit != c5 ||
		!strings.HasPrefix(stored.Message, "fetch failed") {
		t.Fatalf("status after fetch error = %+v, %v", stored, err)
	}
}

func TestControllerRestartWithBadHeadKeepsState(t *testing.T) {
	e := newSyncEnv(t, time.Hour)
	good := e.sync(t).AppliedCommit
	e.remote.Write("deploy/web.yaml", "kind: Deployment\nspec: [\n")
	bad := e.remote.CommitAndPush("broken yaml")
	src, err := source.New(source.Config{URL: e.remote.URL(), Path: "deploy", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	restarted := New(e.st, src, fixture.Logger(t), Options{Now: fixedNow})
	st, err := restarted.SyncOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Sync != api.SyncFailed || st.SeenCommit != bad || st.AppliedCommit != good || len(st.Errors) == 0 {
		t.Fatalf("status after restart on a bad head = %+v", st)
	}
	if live := e.desired(t); len(live) != 1 || replicasOf(t, live, webKey) != 2 {
		t.Fatal("restart on a bad head changed the desired state")
	}
}

// An empty directory prunes everything, as any commit would, once allowed (it deletes every
// object); a missing directory (a typo, or every file deleted so git dropped the directory) is
// an error that prunes nothing, as in Argo CD and Flux. Keep a .gitkeep to mean "run nothing".
func TestControllerEmptyAndMissingPath(t *testing.T) {
	e := newSyncEnv(t, time.Hour)
	e.sync(t)
	e.remote.Remove("deploy")
	e.remote.CommitAndPush("remove the directory")
	st := e.sync(t)
	if st.Sync != api.SyncFailed || len(st.Errors) != 1 || st.Errors[0].File != "deploy" || len(e.desired(t)) != 1 {
		t.Fatalf("missing path: status %+v, %d objects", st, len(e.desired(t)))
	}
	e.remote.Write("deploy/.gitkeep", "")
	e.remote.CommitAndPush("empty directory")
	if st = e.sync(t); st.Sync != api.SyncFailed || len(e.desired(t)) != 1 {
		t.Fatalf("empty path without an allowance: status %+v, %d objects", st, len(e.desired(t)))
	}
	if _, err := e.st.RequestSync(context.Background(), "default", api.SyncRequest{ID: "empty", AllowMassPrune: true}, store.PinChange{}); err != nil {
		t.Fatal(err)
	}
	st = e.sync(t)
	if st.Sync != api.SyncSynced || st.Changes.Deleted != 1 || len(e.desired(t)) != 0 {
		t.Fatalf("empty path: status %+v, %d objects", st, len(e.desired(t)))
	}
}

func TestControllerRevertsDrift(t *testing.T) {
	e := newSyncEnv(t, time.Hour)
	e.sync(t)
	// Someone edits the desired key behind git's back.
	live := e.desired(t)
	d := live[webKey].Object.(*api.Deployment)
	*d.Spec.Replicas = 9
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, e.st, store.Desired, "Deployment/default/web", string(b))
	st := e.sync(t)
	if st.Changes.Updated != 1 || replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatalf("drift not reverted: status %+v", st)
	}
	// A key added behind git's back is pruned.
	extra := fixture.Deployment("extra", 1, "x")
	b, _ = json.Marshal(extra)
	storetest.Put(t, e.st, store.Desired, "Deployment/default/extra", string(b))
	if st := e.sync(t); st.Changes.Deleted != 1 || len(e.desired(t)) != 1 {
		t.Fatalf("extra key not pruned: %+v", st)
	}
}

// Garbage written into desired keys (as with etcdctl) fails neither controller: the Deployment
// controller leaves the Pods of an unreadable entry alone, and the next sync writes the git
// version over it and deletes a garbage key git does not have.
func TestControllerRepairsUndecodableValue(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, time.Hour)
	commit := e.sync(t).AppliedCommit
	pods := workload.NewController(e.st, fixture.Logger(t), workload.Options{Rand: testRand()})
	reconcilePods := func() {
		t.Helper()
		if _, err := pods.ReconcileOnce(ctx); err != nil {
			t.Fatalf("reconcile pods: %v", err)
		}
		if n := len(fixture.PodsOf(t, e.st, "Deployment/default/web")); n != 2 {
			t.Fatalf("%d pods of web, want 2", n)
		}
	}
	reconcilePods()
	for key, v := range map[string]string{"Deployment/default/web": "garbage {", "Deployment/default/junk": "{}"} {
		storetest.Put(t, e.st, store.Desired, key, v)
	}
	reconcilePods()

	st := e.sync(t)
	live := e.desired(t)
	if st.Changes != (api.ChangeSummary{Updated: 1, Deleted: 1}) || len(live) != 1 ||
		replicasOf(t, live, webKey) != 2 || live[webKey].Object.GetMeta().Annotations[api.AnnotationCommit] != commit {
		t.Fatalf("not repaired: status %+v, %d objects", st, len(live))
	}
	reconcilePods()
}

func TestControllerRunFollowsPushesAndWatchesDrift(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newSyncEnv(t, time.Hour) // polls never fire: the request and the watch do the work
	done := make(chan error, 1)
	go func() { done <- e.ctrl.Run(ctx) }()
	fixture.WaitFor(t, "first sync", func() bool { return len(e.desired(t)) == 1 })

	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 4, "nginx:1.27"))
	e.remote.CommitAndPush("scale")
	if _, err := request.Send(ctx, e.st, api.DefaultSource, request.Ask{}, fixedNow()); err != nil {
		t.Fatal(err)
	}
	fixture.WaitFor(t, "requested sync", func() bool { return replicasOf(t, e.desired(t), webKey) == 4 })

	storetest.Delete(t, e.st, store.Desired, "Deployment/default/web")
	fixture.WaitFor(t, "drift reverted by watch", func() bool {
		_, ok := e.desired(t)[webKey]
		return ok
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestDryRunDir(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, time.Hour)
	e.sync(t)
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 3, "nginx:1.27"))
	e.remote.Write("deploy/api.yaml", fixture.DeploymentYAML("api", 1, "api:v1"))
	cs, errs, err := DryRunDir(ctx, e.st, e.remote.Dir(), "deploy", api.Rules{})
	if err != nil || len(errs) != 0 {
		t.Fatalf("plan: %v, %v", errs, err)
	}
	if got := cs.String(); got != "+ Deployment/default/api\n~ Deployment/default/web\n" {
		t.Fatalf("plan =\n%s", got)
	}
	e.remote.Write("deploy/bad.yaml", "kind: Nope\n")
	if _, errs, err := DryRunDir(ctx, e.st, e.remote.Dir(), "deploy", api.Rules{}); err != nil || len(errs) == 0 ||
		errs[0].File != "deploy/bad.yaml" {
		t.Fatalf("plan of a bad tree: %v, %v", errs, err)
	}
	e.remote.Symlink("deploy/link.yaml", "/etc/hostname")
	if _, errs, err := DryRunDir(ctx, e.st, e.remote.Dir(), "deploy", api.Rules{}); err != nil || len(errs) != 1 ||
		errs[0].File != "deploy/link.yaml" {
		t.Fatalf("plan with a symlink: %v, %v", errs, err)
	}
	if len(e.desired(t)) != 1 {
		t.Fatal("plan wrote to etcd")
	}
}
