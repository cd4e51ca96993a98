package noderights

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

func cmKey(ns, name string) api.Key {
	return api.Key{Kind: api.KindConfigMap, Namespace: ns, Name: name}
}

// usingPod is a Pod in ns bound to node that reads the ConfigMaps cms through env.
func usingPod(name, ns, node string, cms ...string) store.Item[api.Pod] {
	p := fixture.Pod(name, "busybox")
	p.Metadata.Namespace, p.Spec.NodeName = ns, node
	for i, cm := range cms {
		p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env,
			api.EnvVar{Name: fmt.Sprintf("V%d", i), ValueFrom: fixture.KeyRef(cm, "k", i%2 == 1)})
	}
	return store.Item[api.Pod]{Name: ns + "/" + name, Value: *p}
}

func TestNodeConfigMaps(t *testing.T) {
	for _, tt := range []struct {
		name string
		pods []store.Item[api.Pod]
		want map[string][]api.Key
	}{
		{name: "no pods", want: map[string][]api.Key{}},
		{name: "an unbound pod grants nothing", pods: []store.Item[api.Pod]{usingPod("p", "default", "", "cm")},
			want: map[string][]api.Key{}},
		{name: "a pod without configmaps grants nothing", pods: []store.Item[api.Pod]{usingPod("p", "default", "a")},
			want: map[string][]api.Key{}},
		{name: "each node the configmaps of its own pods, optional ones too",
			pods: []store.Item[api.Pod]{usingPod("p", "default", "a", "cm2", "cm1"), usingPod("q", "default", "b", "cm3")},
			want: map[string][]api.Key{"a": {cmKey("default", "cm1"), cmKey("default", "cm2")}, "b": {cmKey("default", "cm3")}}},
		{name: "a configmap two pods use once, sorted by namespace",
			pods: []store.Item[api.Pod]{usingPod("p", "prod", "a", "cm"), usingPod("q", "default", "a", "cm"), usingPod("r", "prod", "a", "cm")},
			want: map[string][]api.Key{"a": {cmKey("default", "cm"), cmKey("prod", "cm")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := NodeConfigMaps(tt.pods)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for node, keys := range tt.want {
				if !slices.Equal(got[node], keys) {
					t.Errorf("node %s: got %v, want %v", node, got[node], keys)
				}
			}
		})
	}
}

func TestChanged(t *testing.T) {
	cm1, cm2 := []api.Key{cmKey("default", "cm1")}, []api.Key{cmKey("default", "cm2")}
	for _, tt := range []struct {
		name          string
		want, applied map[string][]api.Key
		dirty         map[string]bool
		changed       []string
	}{
		{name: "nothing known, nothing to do"},
		{name: "equal sets are left", want: map[string][]api.Key{"a": cm1}, applied: map[string][]api.Key{"a": cm1}},
		{name: "a new set", want: map[string][]api.Key{"a": cm1}, changed: []string{"a"}},
		{name: "a moved set", want: map[string][]api.Key{"a": cm2}, applied: map[string][]api.Key{"a": cm1}, changed: []string{"a"}},
		{name: "a set that emptied", applied: map[string][]api.Key{"b": cm1}, changed: []string{"b"}},
		{name: "dirty nodes whatever they hold", want: map[string][]api.Key{"a": cm1}, applied: map[string][]api.Key{"a": cm1},
			dirty: map[string]bool{"a": true, "c": true}, changed: []string{"a", "c"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Changed(tt.want, tt.applied, tt.dirty); !slices.Equal(got, tt.changed) {
				t.Errorf("got %v, want %v", got, tt.changed)
			}
		})
	}
}
