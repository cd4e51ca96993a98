package store_test

import (
	"maps"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// TestPodStatuses: statuses are stored as node/namespace/name; PodStatuses keys them by Pod
// with the latest write winning, BoundStatuses keeps only the one under each Pod's own node.
func TestPodStatuses(t *testing.T) {
	running, failed := api.PodStatus{Phase: api.PodRunning}, api.PodStatus{Phase: api.PodFailed}
	web := api.PodKey{Namespace: "default", Name: "web"}
	pod := func(name, node string) store.Item[api.Pod] {
		return store.Item[api.Pod]{Name: "default/" + name,
			Value: api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: name}, Spec: api.PodSpec{NodeName: node}}}
	}
	st := func(name string, rev int64, s api.PodStatus) store.Item[api.PodStatus] {
		return store.Item[api.PodStatus]{Name: name, Value: s, ModRevision: rev}
	}
	for _, tt := range []struct {
		name       string
		pods       []store.Item[api.Pod]
		items      []store.Item[api.PodStatus]
		all, bound map[api.PodKey]api.PodStatus
	}{
		{name: "one status under the pod's node",
			pods:  []store.Item[api.Pod]{pod("web", "a")},
			items: []store.Item[api.PodStatus]{st("a/default/web", 5, running)},
			all:   map[api.PodKey]api.PodStatus{web: running}, bound: map[api.PodKey]api.PodStatus{web: running}},
		{name: "another node's claim is not the pod's status",
			pods:  []store.Item[api.Pod]{pod("web", "a")},
			items: []store.Item[api.PodStatus]{st("a/default/web", 5, running), st("b/default/web", 9, failed)},
			all:   map[api.PodKey]api.PodStatus{web: failed}, bound: map[api.PodKey]api.PodStatus{web: running}},
		{name: "the latest of two wins without the pods",
			items: []store.Item[api.PodStatus]{st("b/default/web", 9, failed), st("a/default/web", 5, running)},
			all:   map[api.PodKey]api.PodStatus{web: failed}, bound: map[api.PodKey]api.PodStatus{}},
		{name: "an unbound pod has no status",
			pods:  []store.Item[api.Pod]{pod("web", "")},
			items: []store.Item[api.PodStatus]{st("a/default/web", 5, running)},
			all:   map[api.PodKey]api.PodStatus{web: running}, bound: map[api.PodKey]api.PodStatus{}},
		{name: "a key of the old layout is left out",
			pods:  []store.Item[api.Pod]{pod("web", "a")},
			items: []store.Item[api.PodStatus]{st("default/web", 5, running)},
			all:   map[api.PodKey]api.PodStatus{}, bound: map[api.PodKey]api.PodStatus{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			samePhase := func(a, b api.PodStatus) bool { return a.Phase == b.Phase }
			if got := store.PodStatuses(tt.items); !maps.EqualFunc(got, tt.all, samePhase) {
				t.Errorf("PodStatuses = %v, want %v", got, tt.all)
			}
			if got := store.BoundStatuses(tt.pods, tt.items); !maps.EqualFunc(got, tt.bound, samePhase) {
				t.Errorf("BoundStatuses = %v, want %v", got, tt.bound)
			}
		})
	}
}
