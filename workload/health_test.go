package workload

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/health"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

// The controller records health in etcd, about the commit the sync status names, and only it
// decides when a bad look becomes Degraded: after the grace, on its own clock.
func TestControllerRecordsHealth(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	lease := registerN1(t, st)
	web := fixture.Deployment("web", 1, "nginx:1")
	if _, err := st.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: webKey, Object: web}},
		Status: api.SyncStatus{Source: api.DefaultSource, AppliedCommit: "c1", Sync: api.SyncSynced}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ctrl := NewController(st, fixture.Logger(t), Options{Rand: testRand(), Now: func() time.Time { return now },
		Health: health.Policy{DegradedGrace: 20 * time.Second}})
	pass := func(want, msg string) api.HealthStatus {
		t.Helper()
		if _, err := ctrl.ReconcileOnce(ctx); err != nil {
			t.Fatal(err)
		}
		h, err := st.GetHealth(ctx, api.DefaultSource)
		if err != nil {
			t.Fatal(err)
		}
		if h.AppliedCommit != "c1" || h.Health != want || len(h.Objects) != 1 || !strings.Contains(h.Objects[0].Message, msg) {
			t.Fatalf("health = %s %+v, want %s with %q", h.Health, h.Objects, want, msg)
		}
		return h
	}
	pass(api.HealthMissing, "no pods yet") // the pass that creates the Pod saw none

	items, _, err := st.ListPods(ctx)
	if err != nil || len(items) != 1 {
		t.Fatalf("%d pods, %v; want 1", len(items), err)
	}
	unschedulable := items[0]
	unschedulable.Value.Status = api.PodStatus{Phase: api.PodPending, Reason: api.ReasonUnschedulable, Message: "0/1 nodes are available"}
	if err := st.UpdatePod(ctx, &unschedulable.Value, unschedulable.ModRevision); err != nil { // as the scheduler does
		t.Fatal(err)
	}
	pass(api.HealthProgressing, "(Degraded if it lasts 20s)")
	now = now.Add(19 * time.Second)
	pass(api.HealthProgressing, "0/1 nodes are available")
	now = now.Add(time.Second)
	h := pass(api.HealthDegraded, "0/1 nodes are available")
	if h.Objects[0].Since != "2026-01-02T03:04:05Z" || h.Ready != 0 || h.Want != 1 || h.Pods.Pending != 1 {
		t.Fatalf("degraded record = %+v", h)
	}

	items, _, _ = st.ListPods(ctx)
	if err := runReady(ctx, st, items[0]); err != nil {
		t.Fatal(err)
	}
	h = pass(api.HealthHealthy, "1/1 ready")
	if h.Ready != 1 || h.Want != 1 || h.Pods.Running != 1 {
		t.Fatalf("healthy record = %+v", h)
	}

	// The node's heartbeat stops: its Pod no longer counts as running, whatever it last said.
	if _, err := st.Client().Revoke(ctx, lease); err != nil {
		t.Fatal(err)
	}
	h = pass(api.HealthProgressing, "0/1 ready; web-")
	if !strings.Contains(h.Objects[0].Message, "node n1 is NotReady") || h.Pods.Running != 0 {
		t.Fatalf("record after the node was lost = %+v", h)
	}
}

// TestControllerRecordsServiceHealth: a Service is recorded by its ready endpoints, from the
// Pods as the controller reads them: Degraded only after the grace while its Pod is not ready,
// Healthy once the Pod runs ready with an IP.
func TestControllerRecordsServiceHealth(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	registerN1(t, st)
	svc := &api.Service{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindService},
		Metadata: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:     api.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []api.ServicePort{{Port: 80}}}}
	svcKey := api.KeyOf(svc)
	commitDesired(t, st, map[api.Key]api.Object{webKey: fixture.Deployment("web", 1, "nginx:1"), svcKey: svc})
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ctrl := NewController(st, fixture.Logger(t), Options{Rand: testRand(), Now: func() time.Time { return now },
		Health: health.Policy{DegradedGrace: 20 * time.Second}})
	pass := func(want, msg string) {
		t.Helper()
		if _, err := ctrl.ReconcileOnce(ctx); err != nil {
			t.Fatal(err)
		}
		h, err := st.GetHealth(ctx, api.DefaultSource)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range h.Objects {
			if o.Key == svcKey {
				if o.Health != want || o.Message != msg {
					t.Fatalf("Service = %s %q, want %s %q", o.Health, o.Message, want, msg)
				}
				return
			}
		}
		t.Fatalf("no health of the Service in %+v", h.Objects)
	}
	pass(api.HealthProgressing, "no Pod matches selector app=web (Degraded if it lasts 20s)") // the Pod is being created
	items, _, err := st.ListPods(ctx)
	if err != nil || len(items) != 1 {
		t.Fatalf("%d pods, %v; want 1", len(items), err)
	}
	if err := runWith(ctx, st, items[0], api.PodStatus{Phase: api.PodPending, PodIP: "10.244.0.5"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(20 * time.Second)
	pass(api.HealthProgressing, "waiting for a ready endpoint: 0 of 1 Pods selected by app=web are ready") // however long it pulls
	items, _, _ = st.ListPods(ctx)
	if err := runWith(ctx, st, items[0], api.PodStatus{Phase: api.PodRunning, PodIP: "10.244.0.5"}); err != nil {
		t.Fatal(err)
	}
	pass(api.HealthProgressing, "no ready endpoint: 0 of 1 Pods selected by app=web are ready (Degraded if it lasts 20s)")
	now = now.Add(20 * time.Second)
	pass(api.HealthDegraded, "no ready endpoint: 0 of 1 Pods selected by app=web are ready")
	items, _, _ = st.ListPods(ctx)
	if err := runWith(ctx, st, items[0], api.PodStatus{Phase: api.PodRunning, Ready: true, PodIP: "10.244.0.5"}); err != nil {
		t.Fatal(err)
	}
	pass(api.HealthHealthy, "1 of 1 Pods selected by app=web are ready")
}
