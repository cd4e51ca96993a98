package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// fakeChangeSet is a change set of deletes, creates and unchanged objects.
func fakeChangeSet(deletes, creates, unchanged int) ChangeSet {
	var cs ChangeSet
	add := func(a Action, n int) {
		for i := 0; i < n; i++ {
			cs.Changes = append(cs.Changes, Change{Action: a, Key: api.Key{Kind: api.KindDeployment, Namespace: "default",
				Name: fmt.Sprintf("%s-%d", a, i)}})
		}
	}
	add(Delete, deletes)
	add(Create, creates)
	add(Unchanged, unchanged)
	return cs
}

func TestPruneCheckTable(t *testing.T) {
	half := pruneOptions{limit: 0.5}
	for _, tc := range []struct {
		name      string
		cs        ChangeSet
		live      int
		opts      pruneOptions
		wantErr   string // "" means allowed
		wantAnnot bool   // the message suggests the annotation
	}{
		{"nothing deleted", fakeChangeSet(0, 3, 0), 0, half, "", false},
		{"empty etcd", fakeChangeSet(0, 0, 0), 0, half, "", false},
		{"one of three", fakeChangeSet(1, 0, 2), 3, half, "", false},
		{"exactly half", fakeChangeSet(5, 0, 5), 10, half, "", false},
		{"more than half", fakeChangeSet(7, 0, 3), 10, half, "refusing to delete 7 of 10 objects (more than 50%)", true},
		{"one of one", fakeChangeSet(1, 0, 0), 1, half, "refusing to delete all 1 objects; run gitfleet sync --allow-mass-prune", false},
		{"all, replaced by new ones", fakeChangeSet(2, 2, 0), 2, half, "refusing to delete all 2 objects; push the deletion again", true},
		{"all under a limit of 1", fakeChangeSet(4, 0, 0), 4, pruneOptions{limit: 1}, "refusing to delete all 4 objects", false},
		{"three of four under a limit of 1", fakeChangeSet(3, 0, 1), 4, pruneOptions{limit: 1}, "", false},
		{"a quarter limit", fakeChangeSet(2, 0, 5), 7, pruneOptions{limit: 0.25}, "refusing to delete 2 of 7 objects (more than 25%)", true},
		{"allowed", fakeChangeSet(10, 0, 0), 10, pruneOptions{limit: 0.5, allowedBy: "test"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPrune(tc.cs, tc.live, tc.opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkPrune = %v, want nil", err)
				}
				return
			}
			var pe *pruneError
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("checkPrune = %v, want a pruneError starting %q", err, tc.wantErr)
			}
			if got := strings.Contains(err.Error(), AnnotationAllowMassPrune+`: "true"`); got != tc.wantAnnot {
				t.Fatalf("message %q suggests the annotation: %t, want %t", err, got, tc.wantAnnot)
			}
		})
	}
}

// Deletes come last, in the exact reverse of the order the same objects are created in, so that
// what an object needs (its Namespace, its ConfigMaps) goes after it.
func TestPruneDeletesInReverseCreateOrder(t *testing.T) {
	ns := &api.Namespace{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindNamespace},
		Metadata: api.ObjectMeta{Name: "apps"}}
	cm := &api.ConfigMap{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindConfigMap},
		Metadata: api.ObjectMeta{Name: "conf", Namespace: "apps"}}
	objs := []api.Object{fixture.Deployment("web", 1, "x"), fixture.Pod("solo", "x"), cm, ns, fixture.Deployment("api", 1, "x")}
	created := Diff(objs, nil)
	live := map[api.Key]store.DesiredObject{}
	var createOrder []api.Key
	for _, ch := range created.Changes {
		createOrder = append(createOrder, ch.Key)
		live[ch.Key] = store.DesiredObject{Object: ch.Object, ModRevision: 1}
	}
	deleted := Diff(nil, live)
	var deleteOrder []api.Key
	for _, ch := range deleted.Changes {
		if ch.Action != Delete {
			t.Fatalf("change %v, want only deletes", ch)
		}
		deleteOrder = append(deleteOrder, ch.Key)
	}
	slices.Reverse(deleteOrder)
	if !slices.Equal(createOrder, deleteOrder) {
		t.Fatalf("deletes reversed = %v, want the create order %v", deleteOrder, createOrder)
	}
	// With creates in the same set, every delete still comes after every other change.
	mixed := Diff([]api.Object{fixture.Deployment("new", 1, "x")}, live)
	if last := mixed.Changes[0]; last.Action != Create {
		t.Fatalf("first change = %v, want the create", last.Action)
	}
	if ws := mixed.Writes(); ws[len(ws)-1].Object != nil || ws[0].Object == nil {
		t.Fatal("writes do not put the create before the deletes")
	}
}

// pruneEnv is a syncEnv whose repository holds web and the Deployments a, b and c.
func pruneEnv(t *testing.T, opts Options) *syncEnv {
	t.Helper()
	e := newSyncEnv(t, time.Hour)
	for _, n := range []string{"a", "b", "c"} {
		e.remote.Write("deploy/"+n+".yaml", fixture.DeploymentYAML(n, 1, "busybox"))
	}
	e.remote.CommitAndPush("four deployments")
	e.ctrl = New(e.st, e.ctrl.repo, fixture.Logger(t), opts)
	if st := e.sync(t); st.Changes.Created != 4 {
		t.Fatalf("first sync = %+v", st)
	}
	return e
}

func lastEntry(t *testing.T, st *store.Store) api.HistoryEntry {
	t.Helper()
	h, err := st.ListHistory(context.Background(), "default")
	if err != nil || len(h) == 0 {
		t.Fatalf("history = %v, %v", h, err)
	}
	return h[len(h)-1]
}

func TestPruneRefusedUntilAllowed(t *testing.T) {
	ctx := context.Background()
	e := pruneEnv(t, Options{Now: fixedNow})
	good := e.remote.Head()
	e.remote.Remove("deploy/a.yaml")
	e.remote.Remove("deploy/b.yaml")
	e.remote.Remove("deploy/c.yaml")
	three := e.remote.CommitAndPush("delete three")

	st := e.sync(t)
	const msg = "refusing to delete 3 of 4 objects (more than 50%)"
	if st.Sync != api.SyncFailed || !strings.HasPrefix(st.Message, msg) || st.SeenCommit != three || st.AppliedCommit != good {
		t.Fatalf("status of a mass prune = %+v", st)
	}
	if n := len(e.desired(t)); n != 4 {
		t.Fatalf("refused prune left %d objects, want 4", n)
	}
	if h := lastEntry(t, e.st); h.Result != api.SyncFailed || h.Commit.Hash != three || !strings.HasPrefix(h.Message, msg) {
		t.Fatalf("history entry of the refusal = %+v", h)
	}
	// Refused passes repeat nothing: no new status, no new entry.
	rev := e.revision(t)
	e.sync(t)
	if e.revision(t) != rev {
		t.Fatal("a second pass over the refused commit wrote to etcd")
	}

	// A sync request that allows it applies the commit, deletes in reverse order.
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "r1", AllowMassPrune: true}, store.PinChange{}); err != nil {
		t.Fatal(err)
	}
	st = e.sync(t)
	if st.Sync != api.SyncSynced || st.AppliedCommit != three || st.RequestID != "r1" || st.Changes.Deleted != 3 {
		t.Fatalf("status of the allowed prune = %+v", st)
	}
	h := lastEntry(t, e.st)
	want := []string{"- Deployment/default/c", "- Deployment/default/b", "- Deployment/default/a"}
	if h.Result != api.SyncSynced || !slices.Equal(h.Changes, want) {
		t.Fatalf("history entry = %+v, want changes %v", h, want)
	}

	// The request was answered: it does not allow the next mass prune.
	e.remote.Remove("deploy/web.yaml")
	e.remote.Write("deploy/.gitkeep", "")
	e.remote.CommitAndPush("delete everything")
	if st = e.sync(t); st.Sync != api.SyncFailed || !strings.HasPrefix(st.Message, "refusing to delete all 1 objects") {
		t.Fatalf("status of deleting everything = %+v", st)
	}

	// The annotation on a remaining object allows it.
	e.remote.Write("deploy/keep.yaml", strings.Replace(fixture.DeploymentYAML("keep", 1, "busybox"),
		"  name: keep\n", "  name: keep\n  annotations:\n    "+AnnotationAllowMassPrune+": \"true\"\n", 1))
	annotated := e.remote.CommitAndPush("replace web by keep, allowed")
	st = e.sync(t)
	if st.Sync != api.SyncSynced || st.AppliedCommit != annotated || st.Changes.Deleted != 1 || st.Changes.Created != 1 {
		t.Fatalf("status of the annotated prune = %+v", st)
	}
}

// A request naming the commit allows its prune even after it was answered; the controller's
// flag allows every prune.
func TestPruneAllowedByCommitRequestAndFlag(t *testing.T) {
	ctx := context.Background()
	e := pruneEnv(t, Options{Now: fixedNow})
	e.remote.Remove("deploy/a.yaml")
	e.remote.Remove("deploy/b.yaml")
	e.remote.Remove("deploy/c.yaml")
	three := e.remote.CommitAndPush("delete three")
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "other", AllowMassPrune: true, Commit: "0123abc"}, store.PinChange{}); err != nil {
		t.Fatal(err)
	}
	if st := e.sync(t); st.Sync != api.SyncFailed || st.RequestID != "other" {
		t.Fatalf("a request for another commit allowed the prune: %+v", st)
	}
	if _, err := e.st.RequestSync(ctx, "default", api.SyncRequest{ID: "mine", AllowMassPrune: true, Commit: three[:10]}, store.PinChange{}); err != nil {
		t.Fatal(err)
	}
	e.ctrl = New(e.st, e.ctrl.repo, fixture.Logger(t), Options{Now: fixedNow}) // even after a restart
	if st := e.sync(t); st.Sync != api.SyncSynced || st.AppliedCommit != three {
		t.Fatalf("a request for the commit did not allow the prune: %+v", st)
	}

	f := pruneEnv(t, Options{Now: fixedNow, AllowMassPrune: true})
	f.remote.Remove("deploy")
	f.remote.Write("deploy/.gitkeep", "")
	f.remote.CommitAndPush("delete all")
	if st := f.sync(t); st.Sync != api.SyncSynced || st.Changes.Deleted != 4 || len(f.desired(t)) != 0 {
		t.Fatalf("with AllowMassPrune: %+v", st)
	}
}

// While a commit is refused, drift is still reverted to the applied commit.
func TestPruneRefusedKeepsRevertingDrift(t *testing.T) {
	e := pruneEnv(t, Options{Now: fixedNow})
	e.remote.Remove("deploy/a.yaml")
	e.remote.Remove("deploy/b.yaml")
	e.remote.Remove("deploy/c.yaml")
	e.remote.CommitAndPush("delete three")
	e.sync(t)
	storetest.Delete(t, e.st, store.Desired, "Deployment/default/a")
	st := e.sync(t)
	if st.Sync != api.SyncFailed || st.Changes.Created != 1 || len(e.desired(t)) != 4 {
		t.Fatalf("drift during a refusal: status %+v, %d objects", st, len(e.desired(t)))
	}
}
