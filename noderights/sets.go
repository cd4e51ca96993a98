package noderights

import (
	"cmp"
	"maps"
	"slices"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// NodeConfigMaps returns, for each node that Pods are bound to, the ConfigMaps those Pods
// reference (in the Pod's namespace), sorted and without repeats. A node whose Pods reference
// none is left out.
func NodeConfigMaps(pods []store.Item[api.Pod]) map[string][]api.Key {
	out := map[string][]api.Key{}
	for _, it := range pods {
		p := &it.Value
		node := p.Spec.NodeName
		if node == "" {
			continue
		}
		for _, name := range api.ConfigMapNames(&p.Spec) {
			out[node] = append(out[node], api.Key{Kind: api.KindConfigMap, Namespace: p.Metadata.Namespace, Name: name})
		}
	}
	for node, keys := range out {
		slices.SortFunc(keys, compareKeys)
		out[node] = slices.Compact(keys)
	}
	return out
}

func compareKeys(a, b api.Key) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// Changed returns, in name order, the nodes whose role to set: those whose wanted set differs
// from the one last applied (a node in neither has none), and those dirty whatever they hold.
func Changed(want, applied map[string][]api.Key, dirty map[string]bool) []string {
	nodes := map[string]bool{}
	for node := range dirty {
		nodes[node] = true
	}
	for _, m := range []map[string][]api.Key{want, applied} {
		for node := range m {
			if !slices.Equal(want[node], applied[node]) {
				nodes[node] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(nodes))
}
