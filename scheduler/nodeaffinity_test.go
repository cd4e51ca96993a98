package scheduler

import (
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

// nodeAffinity gives a Pod required node affinity of terms, each a list of expressions.
func nodeAffinity(terms ...[]api.SelectorRequirement) podOption {
	return func(p *api.Pod) {
		sel := &api.NodeSelector{}
		for _, t := range terms {
			sel.NodeSelectorTerms = append(sel.NodeSelectorTerms, api.NodeSelectorTerm{MatchExpressions: t})
		}
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &api.Affinity{}
		}
		p.Spec.Affinity.NodeAffinity = &api.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: sel}
	}
}

func expr(key, op string, values ...string) api.SelectorRequirement {
	return api.SelectorRequirement{Key: key, Operator: op, Values: values}
}

func TestNodeAffinity(t *testing.T) {
	node := NewNodeInfo(testNode("n", "1", "1Gi", "rack", "r1", "disk", "ssd"))
	mismatch := NewStatus(UnschedulableAndUnresolvable, ReasonNodeAffinityMismatch)
	type terms = [][]api.SelectorRequirement
	tests := []struct {
		name  string
		terms terms
		want  *Status
	}{
		{name: "in", terms: terms{{expr("rack", api.OpIn, "r0", "r1")}}},
		{name: "not in the values", terms: terms{{expr("rack", api.OpIn, "r2")}}, want: mismatch},
		{name: "in, label missing", terms: terms{{expr("zone", api.OpIn, "a")}}, want: mismatch},
		{name: "notin", terms: terms{{expr("rack", api.OpNotIn, "r2")}}},
		{name: "notin, excluded", terms: terms{{expr("rack", api.OpNotIn, "r1")}}, want: mismatch},
		{name: "notin, label missing", terms: terms{{expr("zone", api.OpNotIn, "a")}}},
		{name: "exists", terms: terms{{expr("disk", api.OpExists)}}},
		{name: "exists, missing", terms: terms{{expr("gpu", api.OpExists)}}, want: mismatch},
		{name: "doesnotexist", terms: terms{{expr("gpu", api.OpDoesNotExist)}}},
		{name: "doesnotexist, present", terms: terms{{expr("disk", api.OpDoesNotExist)}}, want: mismatch},
		{name: "expressions ANDed", terms: terms{{expr("rack", api.OpIn, "r1"), expr("gpu", api.OpExists)}}, want: mismatch},
		{name: "terms ORed", terms: terms{{expr("gpu", api.OpExists)}, {expr("rack", api.OpIn, "r1")}}},
		{name: "empty term matches nothing", terms: terms{{}}, want: mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := testPod("p", nodeAffinity(tt.terms...))
			if got := (NodeAffinity{}).Filter(NewPodInfo(pod), node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := (NodeAffinity{}).Filter(NewPodInfo(testPod("p")), node); got != nil {
		t.Errorf("Filter of a Pod without affinity = %+v, want nil", got)
	}
}
