package workload

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

var webKey = api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"}

// commitDesired writes objs (nil value: delete) as the controller would, at their current revisions.
func commitDesired(t *testing.T, st *store.Store, objs map[api.Key]api.Object) {
	t.Helper()
	ctx := context.Background()
	live, _, err := st.ListDesired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ws []store.Write
	for k, o := range objs {
		ws = append(ws, store.Write{Key: k, Object: o, ModRevision: live[k].ModRevision})
	}
	if _, err := st.CommitSync(ctx, store.SyncRecord{Writes: ws, Status: api.SyncStatus{Source: "test", Sync: api.SyncSynced}}); err != nil {
		t.Fatalf("commit desired: %v", err)
	}
}

// fakeAgent plays the scheduler and the agent of node n1: it binds every Pod there and marks it
// Running and Ready, until ctx ends. Its errors (a Pod deleted under it, etcd stopping) do not
// matter: the test checks the outcome.
func fakeAgent(ctx context.Context, st *store.Store) {
	for ctx.Err() == nil {
		items, _, _ := st.ListPods(ctx)
		for _, it := range items {
			runReady(ctx, st, it)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// registerN1 registers node n1 with a heartbeat, Ready, so that its Pods count as running.
func registerN1(t *testing.T, st *store.Store) store.LeaseID {
	t.Helper()
	ctx := context.Background()
	n := &api.Node{Metadata: api.ObjectMeta{Name: "n1"}, Status: api.NodeStatus{Ready: true}}
	lease, err := st.GrantLease(ctx, time.Minute)
	if err == nil {
		err = st.PutNode(ctx, n)
	}
	if err == nil {
		err = st.PutNodeLease(ctx, "n1", lease)
	}
	if err != nil {
		t.Fatal(err)
	}
	return lease
}

// runReady binds the Pod of it to node n1 unless it is bound, and reports it Running and Ready.
func runReady(ctx context.Context, st *store.Store, it store.Item[api.Pod]) error {
	return runWith(ctx, st, it, api.PodStatus{Phase: api.PodRunning, Ready: true})
}

// runWith binds the Pod of it to node n1 unless it is bound, and reports status st for it.
func runWith(ctx context.Context, st *store.Store, it store.Item[api.Pod], status api.PodStatus) error {
	m := it.Value.Metadata
	if it.Value.Spec.NodeName == "" {
		if err := st.BindPod(ctx, it.Value, it.ModRevision, "n1"); err != nil {
			return err
		}
	}
	return st.PutPodStatus(ctx, "n1", m.Namespace, m.Name, 0, status)
}

func TestControllerWithEtcd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := etcdtest.Start(t)
	// A Pod nobody owns must survive everything below.
	stray := fixture.Pod("stray", "busybox")
	if err := st.CreatePod(ctx, stray); err != nil {
		t.Fatal(err)
	}
	web := fixture.Deployment("web", 3, "nginx:1")
	commitDesired(t, st, map[api.Key]api.Object{webKey: web})

	ctrl := NewController(st, fixture.Logger(t), Options{Resync: time.Second, Rand: testRand()})
	done := make(chan error, 1)
	go func() { done <- ctrl.Run(ctx) }()
	go fakeAgent(ctx, st)
	count := func(n int, image string) func() bool { return webPodsAre(t, st, n, image) }
	fixture.WaitFor(t, "3 pods", count(3, "nginx:1"))

	commitDesired(t, st, map[api.Key]api.Object{webKey: fixture.Deployment("web", 1, "nginx:1")})
	fixture.WaitFor(t, "scale down to 1", count(1, "nginx:1"))

	commitDesired(t, st, map[api.Key]api.Object{webKey: fixture.Deployment("web", 2, "nginx:2")})
	fixture.WaitFor(t, "rollout to nginx:2", count(2, "nginx:2"))

	// A Pod manifest: created under its own name, replaced when its spec changes, then removed.
	debugKey := api.Key{Kind: api.KindPod, Namespace: "default", Name: "debug"}
	commitDesired(t, st, map[api.Key]api.Object{debugKey: fixture.Pod("debug", "busybox:1")})
	podImage := func(image string) func() bool {
		return func() bool {
			p, _, err := st.GetPod(ctx, "default", "debug")
			return err == nil && p.Spec.Containers[0].Image == image
		}
	}
	fixture.WaitFor(t, "pod from manifest", podImage("busybox:1"))
	commitDesired(t, st, map[api.Key]api.Object{debugKey: fixture.Pod("debug", "busybox:2")})
	fixture.WaitFor(t, "pod replaced", podImage("busybox:2"))

	commitDesired(t, st, map[api.Key]api.Object{webKey: nil, debugKey: nil})
	fixture.WaitFor(t, "pods of deleted objects gone", func() bool {
		_, _, err := st.GetPod(ctx, "default", "debug")
		return count(0, "")() && errors.Is(err, store.ErrNotFound)
	})
	if _, _, err := st.GetPod(ctx, "default", "stray"); err != nil {
		t.Fatalf("unowned pod: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestDeploymentRolloutWaitsForReadiness(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	ctrl := NewController(st, fixture.Logger(t), Options{Rand: testRand()})
	commitDesired(t, st, map[api.Key]api.Object{webKey: fixture.Deployment("web", 2, "nginx:1")})
	reconcile := func() {
		t.Helper()
		if _, err := ctrl.ReconcileOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	reconcile()
	items, _, err := st.ListPods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := runReady(ctx, st, it); err != nil {
			t.Fatal(err)
		}
	}
	commitDesired(t, st, map[api.Key]api.Object{webKey: fixture.Deployment("web", 2, "nginx:2")})
	for i := 0; i < 3; i++ { // no agent: the new Pod never gets ready, so the rollout holds
		reconcile()
	}
	pods := fixture.PodsOf(t, st, "Deployment/default/web")
	images := map[string]int{}
	for _, p := range pods {
		images[p.Spec.Containers[0].Image]++
	}
	if fmt.Sprint(images) != "map[nginx:1:2 nginx:2:1]" {
		t.Fatalf("stalled rollout has %v, want both old pods and one new", images)
	}
}

// webPodsAre reports, when called, whether Deployment web has exactly n Pods, all of image.
func webPodsAre(t *testing.T, st *store.Store, n int, image string) func() bool {
	return func() bool {
		pods := fixture.PodsOf(t, st, "Deployment/default/web")
		for _, p := range pods {
			if p.Spec.Containers[0].Image != image {
				return false
			}
		}
		return len(pods) == n
	}
}
