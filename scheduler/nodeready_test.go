package scheduler

import (
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestNodeReady(t *testing.T) {
	tests := []struct {
		name string
		node *NodeInfo
		want *Status
	}{
		{name: "ready", node: NewNodeInfo(testNode("n", "1", "1Gi"))},
		{name: "not ready", node: NewNodeInfo(notReady(testNode("n", "1", "1Gi"))),
			want: NewStatus(UnschedulableAndUnresolvable, ReasonNodeNotReady)},
		{name: "cordoned", node: NewNodeInfo(cordoned(testNode("n", "1", "1Gi"))),
			want: NewStatus(UnschedulableAndUnresolvable, ReasonNodeUnschedulable)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NodeReady{}).Filter(NewPodInfo(testPod("p")), tt.node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func cordoned(n *api.Node) *api.Node {
	n.Spec.Unschedulable = true
	return n
}
