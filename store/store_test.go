package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/embedded"
	"github.com/gitfleet/gitfleet/store/storetest"
)

func deployment(name string, replicas int32) *api.Deployment {
	return &api.Deployment{
		TypeMeta: api.TypeMeta{APIVersion: "apps/v1", Kind: api.KindDeployment},
		Metadata: api.ObjectMeta{Name: name, Namespace: "default"},
		Spec:     api.DeploymentSpec{Replicas: &replicas},
	}
}

func TestCommitSyncIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	a, b := deployment("a", 1), deployment("b", 1)
	sync := api.SyncStatus{Source: "default", AppliedCommit: "c1", Sync: api.SyncSynced}
	_, err := s.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(a), Object: a}, {Key: api.KeyOf(b), Object: b}}, Status: sync})
	if err != nil {
		t.Fatalf("first commit: %v", err)
	}
	got, _, err := s.ListDesired(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("list desired = %d objects, %v; want 2", len(got), err)
	}
	// A stale write (b read at revision 0 although it exists) must fail the whole commit:
	// c must not appear and a must keep its value.
	c := deployment("c", 1)
	a2 := deployment("a", 5)
	sync.AppliedCommit = "c2"
	_, err = s.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{
		{Key: api.KeyOf(a), Object: a2, ModRevision: got[api.KeyOf(a)].ModRevision},
		{Key: api.KeyOf(c), Object: c},
		{Key: api.KeyOf(b), Object: nil, ModRevision: 0},
	}, Status: sync})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale commit: err = %v, want ErrConflict", err)
	}
	after, _, _ := s.ListDesired(ctx)
	if len(after) != 2 {
		t.Fatalf("after failed commit: %d objects, want 2", len(after))
	}
	if r := *after[api.KeyOf(a)].Object.(*api.Deployment).Spec.Replicas; r != 1 {
		t.Fatalf("a.replicas = %d after failed commit, want 1", r)
	}
	st, err := s.GetSync(ctx, "default")
	if err != nil || st.AppliedCommit != "c1" {
		t.Fatalf("sync = %+v, %v; want applied c1", st, err)
	}
}

// A value written behind the controller's back that is not an object of its key must not fail
// the list: it comes back with a nil Object and its revision, so the controller can repair it.
func TestListDesiredKeepsUndecodableValues(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	good := deployment("good", 1)
	if _, err := s.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(good), Object: good}}, Status: api.SyncStatus{Source: "default"}}); err != nil {
		t.Fatal(err)
	}
	key := func(kind, name string) api.Key { return api.Key{Kind: kind, Namespace: "default", Name: name} }
	garbage := map[api.Key]string{
		key(api.KindDeployment, "web"):   "not json {",
		key(api.KindDeployment, "empty"): "{}",
		key(api.KindDeployment, "null"):  "null",
		key(api.KindDeployment, "other"): `{"kind":"Deployment","metadata":{"name":"good","namespace":"default"}}`,
		key(api.KindPod, "wrong-type"):   `{"kind":"Pod","spec":{"containers":"x"}}`,
		key("Unknown", "x"):              `{}`,
	}
	revs := map[api.Key]int64{}
	for k, v := range garbage {
		resp, err := s.Client().Put(ctx, "/gitfleet/desired/"+k.String(), v)
		if err != nil {
			t.Fatal(err)
		}
		revs[k] = resp.Header.Revision
	}
	got, _, err := s.ListDesired(ctx)
	if err != nil {
		t.Fatalf("list desired with garbage: %v", err)
	}
	if len(got) != len(garbage)+1 {
		t.Fatalf("%d entries, want %d", len(got), len(garbage)+1)
	}
	if d, ok := got[api.KeyOf(good)].Object.(*api.Deployment); !ok || *d.Spec.Replicas != 1 {
		t.Fatalf("good object = %#v", got[api.KeyOf(good)].Object)
	}
	for k, rev := range revs {
		if o := got[k]; o.Object != nil || o.ModRevision != rev {
			t.Errorf("%s = %#v at %d, want nil Object at %d", k, o.Object, o.ModRevision, rev)
		}
	}
}

func TestBindPodIsCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	pod := &api.Pod{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: api.ObjectMeta{Name: "p", Namespace: "default"}}
	if err := s.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePod(ctx, pod); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	p, rev, err := s.GetPod(ctx, "default", "p")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BindPod(ctx, p, rev, "n1"); err != nil {
		t.Fatalf("bind: %v", err)
	}
	// A second scheduler that read the same revision loses.
	if err := s.BindPod(ctx, p, rev, "n2"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("racing bind: %v, want ErrConflict", err)
	}
	p, rev, _ = s.GetPod(ctx, "default", "p")
	if p.Spec.NodeName != "n1" {
		t.Fatalf("node = %q, want n1", p.Spec.NodeName)
	}
	if err := s.BindPod(ctx, p, rev, "n2"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("rebind: %v, want ErrConflict", err)
	}
}

// A Pod bound to a node is indexed under it in the bind's transaction; its status can be
// written only while it is bound there, and only for that binding; deleting it clears all.
func TestNodeIndexAndPodStatus(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	running := api.PodStatus{Phase: api.PodRunning, Ready: true}
	if err := s.PutPodStatus(ctx, "n1", "default", "ghost", 0, running); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("status of missing pod: %v, want ErrNotFound", err)
	}
	pod := &api.Pod{Metadata: api.ObjectMeta{Name: "p", Namespace: "default"}}
	if err := s.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPodStatus(ctx, "n1", "default", "p", 0, running); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("status of an unbound pod: %v, want ErrNotFound", err)
	}
	p, rev, _ := s.GetPod(ctx, "default", "p")
	if err := s.BindPod(ctx, p, rev, "n1"); err != nil {
		t.Fatal(err)
	}
	mine, _, err := s.ListNodePods(ctx, "n1")
	if err != nil || len(mine) != 1 || mine[0].Value.Metadata.Name != "p" || mine[0].Value.Spec.NodeName != "n1" {
		t.Fatalf("pods of n1 = %+v, %v", mine, err)
	}
	if other, _, _ := s.ListNodePods(ctx, "n2"); len(other) != 0 {
		t.Fatalf("pods of n2 = %+v", other)
	}
	if err := s.PutPodStatus(ctx, "n2", "default", "p", 0, running); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("status from another node: %v, want ErrNotFound", err)
	}
	// A report observed for an earlier binding of the same name does not land on this one.
	stale := mine[0].CreateRevision - 1
	if err := s.PutPodStatus(ctx, "n1", "default", "p", stale, api.PodStatus{Phase: api.PodFailed}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stale status: %v, want ErrNotFound", err)
	}
	if err := s.PutPodStatus(ctx, "n1", "default", "p", mine[0].CreateRevision, running); err != nil {
		t.Fatalf("status for the current pod: %v", err)
	}
	if _, ok := storetest.Get(t, s, store.PodStatus, "n1/default/p"); !ok {
		t.Fatal("the status is not under its node's prefix, podstatus/n1/")
	}
	pods, err := s.ListPodsWithStatus(ctx)
	if err != nil || len(pods) != 1 || pods[0].Status.Phase != api.PodUnknown {
		t.Fatalf("pods = %+v, %v; want Unknown: n1 is not a registered, Ready node", pods, err)
	}
	if err := s.DeletePod(ctx, "default", "p", 0); err != nil {
		t.Fatal(err)
	}
	sts, _, _ := s.ListPodStatuses(ctx)
	if left, _, _ := s.ListNodePods(ctx, "n1"); len(sts) != 0 || len(left) != 0 {
		t.Fatalf("left behind: statuses %v, index %v", sts, left)
	}
	// A Pod created bound (a manifest's nodeName) is indexed at once.
	pinned := &api.Pod{Metadata: api.ObjectMeta{Name: "q", Namespace: "default"}, Spec: api.PodSpec{NodeName: "n2"}}
	if err := s.CreatePod(ctx, pinned); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.ListNodePods(ctx, "n2"); len(got) != 1 {
		t.Fatalf("pods of n2 = %+v", got)
	}
}

func TestWatchSeesChangesAfterRevision(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := etcdtest.Start(t)
	_, rev, err := s.ListPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch := s.Watch(ctx, store.Pods, rev)
	if err := s.CreatePod(ctx, &api.Pod{Metadata: api.ObjectMeta{Name: "w", Namespace: "ns"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-ch:
		if c.Name != "ns/w" || c.Deleted {
			t.Fatalf("change = %+v", c)
		}
	case <-ctx.Done():
		t.Fatal("no change seen")
	}
}

// A node outlives its heartbeat: when the lease goes, the node stays, NotReady, its Ready
// condition Unknown; a second host cannot take its name.
func TestNodeNotReadyWhenHeartbeatStops(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	lease, err := s.GrantLease(ctx, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	n := &api.Node{Metadata: api.ObjectMeta{Name: "n1"}, Status: api.NodeStatus{Ready: true, HostID: "h1",
		Conditions: []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue}}}}
	if err := s.PutNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.PutNodeLease(ctx, "n1", lease); err != nil {
		t.Fatal(err)
	}
	if err := s.AssignPodCIDR(ctx, "n1", "10.244.0.0/24", api.NodeSpec{}, 0); err != nil {
		t.Fatal(err)
	}
	nodes, _, _ := s.ListNodes(ctx)
	if len(nodes) != 1 || !nodes[0].Value.Status.Ready || nodes[0].Value.Spec.PodCIDR != "10.244.0.0/24" {
		t.Fatalf("nodes = %+v, want n1 Ready with its range", nodes)
	}
	if _, err := s.Client().Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	nodes, _, _ = s.ListNodes(ctx)
	if len(nodes) != 1 || nodes[0].Value.Status.Ready {
		t.Fatalf("nodes after revoke = %+v, want n1 NotReady", nodes)
	}
	if c := nodes[0].Value.Status.Condition(api.NodeReady); c == nil || c.Status != api.ConditionUnknown || c.Reason != api.ReasonLeaseExpired {
		t.Fatalf("ready condition = %+v", c)
	}
	other := *n
	other.Status.HostID = "h2"
	if err := s.PutNode(ctx, &other); !errors.Is(err, store.ErrNodeNameTaken) {
		t.Fatalf("second host: %v, want ErrNodeNameTaken", err)
	}
	if err := s.PutNode(ctx, n); err != nil {
		t.Fatalf("the same host again: %v", err)
	}
	if err := s.AssignPodCIDR(ctx, "n2", "10.244.0.0/24", api.NodeSpec{}, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a range twice: %v, want ErrConflict", err)
	}
}

func TestEmbeddedRestartKeepsData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/etcd"
	log := discardLogger()
	for i := 0; i < 2; i++ {
		e, err := embedded.Start(ctx, embedded.Config{Dir: dir}, log)
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		c, err := store.Connect(e.Endpoints)
		if err != nil {
			t.Fatal(err)
		}
		s := store.New(c)
		if i == 0 {
			_, err = s.CommitSync(ctx, store.SyncRecord{Status: api.SyncStatus{Source: "default", AppliedCommit: "abc"}})
		} else {
			var st api.SyncStatus
			st, err = s.GetSync(ctx, "default")
			if err == nil && st.AppliedCommit != "abc" {
				t.Errorf("after restart applied = %q", st.AppliedCommit)
			}
		}
		c.Close()
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestListSkipsUndecodableValues(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	if err := s.CreatePod(ctx, &api.Pod{Metadata: api.ObjectMeta{Name: "good", Namespace: "default"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client().Put(ctx, "/gitfleet/pods/default/garbage", "{not json"); err != nil {
		t.Fatal(err)
	}
	pods, _, err := s.ListPods(ctx)
	if err != nil || len(pods) != 1 || pods[0].Name != "default/good" {
		t.Fatalf("pods = %+v, %v; want only default/good", pods, err)
	}
}
