package dashboard

import (
	"fmt"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

func testPod(ns, name, owner, node string, cpu string) store.Item[api.Pod] {
	p := api.Pod{Metadata: api.ObjectMeta{Namespace: ns, Name: name}, Spec: api.PodSpec{NodeName: node,
		Containers: []api.Container{{Name: "c", Resources: api.ResourceRequirements{Requests: api.ResourceList{api.ResourceCPU: cpu, api.ResourceMemory: "16Mi"}}}}}}
	if owner != "" {
		p.Metadata.Annotations = map[string]string{api.AnnotationOwner: owner}
	}
	return store.Item[api.Pod]{Name: ns + "/" + name, Value: p, CreateRevision: 7}
}

// TestBuildState checks the tree (namespaces, objects in apply order, owned and loose Pods
// with their merged status), the source's pin and seen commit, history order and node
// allocation.
func TestBuildState(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	web := api.Key{Kind: api.KindDeployment, Namespace: "prod", Name: "web"}
	in := inputs{
		source: api.DefaultSource, repo: "https://git.example/r.git",
		syncs: []store.Item[api.SyncStatus]{{Name: api.DefaultSource, Value: api.SyncStatus{Source: api.DefaultSource,
			SeenCommit: "bbbb", AppliedCommit: "aaaa", Sync: api.SyncFailed,
			Errors: []api.FieldError{{File: "web.yaml", Line: 9, Field: "spec.replicas", Message: "bad"}}}}},
		health: []store.Item[api.HealthStatus]{{Name: api.DefaultSource, Value: api.HealthStatus{Health: api.HealthProgressing, AppliedCommit: "aaaa",
			Objects: []api.ObjectStatus{
				{Key: web, Health: api.HealthProgressing, Message: "1/2 ready", Ready: 1, Want: 2},
				{Key: api.Key{Kind: api.KindNamespace, Name: "prod"}, Health: api.HealthHealthy},
				{Key: api.Key{Kind: api.KindService, Namespace: "prod", Name: "web"}, Health: api.HealthHealthy},
			}}}},
		history: []store.Item[api.HistoryEntry]{
			{Name: "default/1", Value: api.HistoryEntry{ID: 1, Source: api.DefaultSource, Commit: api.CommitInfo{Hash: "aaaa"}, Result: api.SyncSynced}},
			{Name: "default/2", Value: api.HistoryEntry{ID: 2, Source: api.DefaultSource, Commit: api.CommitInfo{Hash: "bbbb", Author: "Bob"}, Result: api.SyncFailed}},
		},
		pins: []store.Item[api.Pin]{{Name: api.DefaultSource, Value: api.Pin{Commit: "aaaa"}}},
		pods: []store.Item[api.Pod]{
			testPod("prod", "web-2", web.String(), "n1", "100m"),
			testPod("prod", "web-1", web.String(), "n1", "250m"),
			testPod("prod", "stray", "", "n2", "1"),
		},
		statuses: []store.Item[api.PodStatus]{{Name: "n1/prod/web-1", Value: api.PodStatus{Phase: api.PodRunning, Ready: true, PodIP: "10.244.0.5", Restarts: 2}}},
		nodes: []store.Item[api.Node]{
			{Name: "n2", Value: api.Node{Metadata: api.ObjectMeta{Name: "n2"}, Status: api.NodeStatus{Ready: false}}},
			{Name: "n1", Value: api.Node{Metadata: api.ObjectMeta{Name: "n1"}, Status: api.NodeStatus{Ready: true,
				Capacity: api.ResourceList{api.ResourceCPU: "2", api.ResourceMemory: "1Gi", api.ResourcePods: "110"}}}},
		},
		services: []store.Item[api.ServiceStatus]{{Name: "prod/web", Value: api.ServiceStatus{ClusterIP: "10.96.0.7"}}},
		since:    func(store.Item[api.Pod]) (time.Time, bool) { return now.Add(-time.Minute), true },
	}
	st := buildState(in, now)

	src := st.Source
	if src.Pin == nil || src.Pin.Commit != "aaaa" || src.Seen.Author != "Bob" || src.Health != api.HealthProgressing || src.Repo != in.repo {
		t.Errorf("source: %+v", src)
	}
	if len(src.Errors) != 1 || src.Errors[0].Error() != "web.yaml:9: spec.replicas: bad" {
		t.Errorf("errors: %+v", src.Errors)
	}
	if len(st.History) != 2 || st.History[0].ID != 2 {
		t.Errorf("history not newest first: %+v", st.History)
	}
	if len(st.Namespaces) != 1 || st.Namespaces[0].Name != "prod" || st.Namespaces[0].Health != api.HealthProgressing {
		t.Fatalf("namespaces: %+v", st.Namespaces)
	}
	ns := st.Namespaces[0]
	var kinds []string
	for _, o := range ns.Objects {
		kinds = append(kinds, o.Key.Kind)
	}
	if len(kinds) != 3 || kinds[0] != api.KindNamespace {
		t.Errorf("objects not in apply order: %v", kinds)
	}
	var dep ObjectView
	for _, o := range ns.Objects {
		switch o.Key.Kind {
		case api.KindDeployment:
			dep = o
		case api.KindService:
			if o.ClusterIP != "10.96.0.7" {
				t.Errorf("service without its IP: %+v", o)
			}
		}
	}
	if len(dep.Pods) != 2 || dep.Pods[0].Name != "web-1" || !dep.Pods[0].Ready || dep.Pods[0].IP != "10.244.0.5" || dep.Pods[0].Restarts != 2 {
		t.Errorf("deployment's pods: %+v", dep.Pods)
	}
	if dep.Pods[1].Phase != api.PodPending || !dep.Pods[0].SinceStart || dep.Pods[0].Since != "2025-03-01T11:59:00Z" {
		t.Errorf("pod without status, or age: %+v", dep.Pods[1])
	}
	if len(ns.Pods) != 1 || ns.Pods[0].Name != "stray" || ns.Pods[0].Phase != api.PodUnknown {
		t.Errorf("loose pod on a NotReady node: %+v", ns.Pods)
	}
	if len(st.Nodes) != 2 || st.Nodes[0].Name != "n1" {
		t.Fatalf("nodes: %+v", st.Nodes)
	}
	n1 := st.Nodes[0]
	if n1.RequestedCPUMilli != 350 || n1.AllocatableCPUMilli != 2000 || n1.RequestedMemory != 32<<20 || n1.MaxPods != 110 || len(n1.Pods) != 2 {
		t.Errorf("n1 allocation: %+v", n1)
	}
}

// TestBuildStateEvents checks that the State carries the newest maxEvents events, newest
// first, and marks an object or Pod whose newest event is a Warning (and only then).
func TestBuildStateEvents(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	web := api.Key{Kind: api.KindDeployment, Namespace: "prod", Name: "web"}
	ev := func(k api.Key, typ, reason string, ago time.Duration) store.Item[api.Event] {
		at := now.Add(-ago)
		return store.Item[api.Event]{Name: "controller/" + k.String() + "/" + reason, Value: api.Event{Type: typ, Reason: reason,
			Object: k, Source: api.EventSourceController, Count: 1, FirstTime: at, LastTime: at}}
	}
	pod := func(name string) api.Key { return api.Key{Kind: api.KindPod, Namespace: "prod", Name: name} }
	var events []store.Item[api.Event]
	for i := range maxEvents + 10 {
		events = append(events, ev(api.Key{Kind: api.KindConfigMap, Namespace: "prod", Name: fmt.Sprintf("c%d", i)}, api.EventNormal, api.ReasonCreated, time.Hour-time.Duration(i)*time.Second))
	}
	events = append(events,
		ev(web, api.EventWarning, api.ReasonSyncFailed, 2*time.Second),
		ev(pod("web-1"), api.EventWarning, api.ReasonFailedScheduling, 5*time.Second),
		ev(pod("web-1"), api.EventNormal, api.ReasonScheduled, 3*time.Second), // over: not marked
		ev(pod("web-2"), api.EventWarning, api.ReasonBackOff, time.Second),
	)
	in := inputs{source: api.DefaultSource, events: events,
		health: []store.Item[api.HealthStatus]{{Name: api.DefaultSource, Value: api.HealthStatus{Objects: []api.ObjectStatus{{Key: web, Health: api.HealthDegraded}}}}},
		pods:   []store.Item[api.Pod]{testPod("prod", "web-1", web.String(), "", "1"), testPod("prod", "web-2", web.String(), "", "1")},
	}
	st := buildState(in, now)

	if len(st.Events) != maxEvents {
		t.Fatalf("events: %d, want the newest %d", len(st.Events), maxEvents)
	}
	if first := st.Events[0]; first.Reason != api.ReasonBackOff || first.Object != pod("web-2") {
		t.Errorf("newest event: %+v", first)
	}
	for i := 1; i < len(st.Events); i++ {
		if st.Events[i].LastTime.After(st.Events[i-1].LastTime) {
			t.Fatalf("events not newest first at %d: %v after %v", i, st.Events[i].LastTime, st.Events[i-1].LastTime)
		}
	}
	if last := st.Events[maxEvents-1]; last.Object.Name != "c14" {
		t.Errorf("oldest event kept: %+v, want c14's (64 events: the 14 oldest dropped)", last.Object)
	}
	dep := st.Namespaces[0].Objects[0]
	if dep.Warning != api.ReasonSyncFailed || len(dep.Pods) != 2 {
		t.Fatalf("deployment: %+v", dep)
	}
	if dep.Pods[0].Warning != "" || dep.Pods[1].Warning != api.ReasonBackOff {
		t.Errorf("pods' warnings: %q %q, want \"\" (a Normal event came after) and BackOff", dep.Pods[0].Warning, dep.Pods[1].Warning)
	}
	if empty := buildState(inputs{source: api.DefaultSource}, now); empty.Events == nil {
		t.Error("no events: nil, want [] (the page reads a list)")
	}
}
