package scheduler

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestNodePods(t *testing.T) {
	withPods := func(max string, running int) *NodeInfo {
		node := testNode("n", "64", "64Gi")
		if max != "" {
			node.Status.Capacity[api.ResourcePods] = max
		}
		n := NewNodeInfo(node)
		for i := range running {
			n.AddPod(NewPodInfo(testPod(fmt.Sprintf("p-%d", i))))
		}
		return n
	}
	full := NewStatus(Unschedulable, ReasonTooManyPods)
	tests := []struct {
		name string
		node *NodeInfo
		want *Status
	}{
		{name: "room left", node: withPods("3", 2)},
		{name: "full", node: withPods("3", 3), want: full},
		{name: "no pods allowed", node: withPods("0", 0), want: full},
		{name: "default 110, room", node: withPods("", DefaultMaxPods-1)},
		{name: "default 110, full", node: withPods("", DefaultMaxPods), want: full},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NodePods{}).Filter(NewPodInfo(testPod("new")), tt.node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %+v, want %+v", got, tt.want)
			}
		})
	}
}
