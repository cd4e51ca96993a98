package scheduler

import (
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestNodeResourcesFit(t *testing.T) {
	busy := NewNodeInfo(testNode("n", "2", "4Gi"), testPod("a", boundTo("n"), requests("1500m", "3Gi")))
	tests := []struct {
		name string
		pod  *api.Pod
		node *NodeInfo
		want *Status
	}{
		{name: "fits empty node", pod: testPod("p", requests("2", "4Gi")), node: NewNodeInfo(testNode("n", "2", "4Gi"))},
		{name: "fits what is left", pod: testPod("p", requests("500m", "1Gi")), node: busy},
		{name: "no requests fit a full node", pod: testPod("p"), node: busy},
		{name: "cpu short", pod: testPod("p", requests("501m", "1Gi")), node: busy,
			want: NewStatus(Unschedulable, ReasonInsufficientCPU)},
		{name: "memory short", pod: testPod("p", requests("100m", "1025Mi")), node: busy,
			want: NewStatus(Unschedulable, ReasonInsufficientMemory)},
		{name: "both short", pod: testPod("p", requests("1", "2Gi")), node: busy,
			want: NewStatus(Unschedulable, ReasonInsufficientCPU, ReasonInsufficientMemory)},
		{name: "limits stand for requests", pod: testPod("p", limits("1", "1Gi")), node: busy,
			want: NewStatus(Unschedulable, ReasonInsufficientCPU)},
		{name: "missing capacity is zero", pod: testPod("p", requests("1m", "")),
			node: NewNodeInfo(&api.Node{Metadata: api.ObjectMeta{Name: "n"}}),
			want: NewStatus(Unschedulable, ReasonInsufficientCPU)},
		{name: "invalid capacity", pod: testPod("p"), node: NewNodeInfo(testNode("n", "many", "4Gi")),
			want: NewStatus(Error, ReasonInvalidCapacity)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (NodeResourcesFit{}).Filter(NewPodInfo(tt.pod), tt.node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %+v, want %+v", got, tt.want)
			}
		})
	}
}
