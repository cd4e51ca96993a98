package scheduler

import (
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func tainted(n *api.Node, taints ...api.Taint) *api.Node {
	n.Spec.Taints = taints
	return n
}

func tolerations(tols ...api.Toleration) podOption {
	return func(p *api.Pod) { p.Spec.Tolerations = tols }
}

func TestTaintToleration(t *testing.T) {
	gpu := api.Taint{Key: "gpu", Value: "true", Effect: api.TaintNoSchedule}
	evict := api.Taint{Key: "maint", Effect: api.TaintNoExecute}
	prefer := api.Taint{Key: "slow", Value: "yes", Effect: api.TaintPreferNoSchedule}
	untolerated := func(t api.Taint) *Status {
		return NewStatus(UnschedulableAndUnresolvable, ReasonUntoleratedTaint+" {"+t.Key+": "+t.Value+"}")
	}
	tests := []struct {
		name   string
		taints []api.Taint
		tols   []api.Toleration
		want   *Status
	}{
		{name: "no taints"},
		{name: "NoSchedule untolerated", taints: []api.Taint{gpu}, want: untolerated(gpu)},
		{name: "NoExecute untolerated", taints: []api.Taint{evict}, want: untolerated(evict)},
		{name: "PreferNoSchedule is not enforced", taints: []api.Taint{prefer}},
		{name: "Equal", taints: []api.Taint{gpu}, tols: []api.Toleration{{Key: "gpu", Value: "true"}}},
		{name: "Equal, other value", taints: []api.Taint{gpu}, tols: []api.Toleration{{Key: "gpu", Operator: "Equal", Value: "false"}},
			want: untolerated(gpu)},
		{name: "Exists on the key", taints: []api.Taint{gpu}, tols: []api.Toleration{{Key: "gpu", Operator: "Exists"}}},
		{name: "Exists without key tolerates all", taints: []api.Taint{gpu, evict}, tols: []api.Toleration{{Operator: "Exists"}}},
		{name: "effect must match", taints: []api.Taint{gpu},
			tols: []api.Toleration{{Key: "gpu", Value: "true", Effect: api.TaintNoExecute}}, want: untolerated(gpu)},
		{name: "effect matches", taints: []api.Taint{gpu},
			tols: []api.Toleration{{Key: "gpu", Value: "true", Effect: api.TaintNoSchedule}}},
		{name: "every taint needs a toleration", taints: []api.Taint{gpu, evict},
			tols: []api.Toleration{{Key: "gpu", Operator: "Exists"}}, want: untolerated(evict)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := NewNodeInfo(tainted(testNode("n", "1", "1Gi"), tt.taints...))
			pod := testPod("p", tolerations(tt.tols...))
			if got := (TaintToleration{}).Filter(NewPodInfo(pod), node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %+v, want %+v", got, tt.want)
			}
		})
	}
}
