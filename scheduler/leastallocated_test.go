package scheduler

import (
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestLeastAllocated(t *testing.T) {
	tests := []struct {
		name string
		pod  *api.Pod
		node *NodeInfo
		want int64
	}{
		{name: "empty node, no requests", pod: testPod("p"), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 100},
		{name: "pod counts", pod: testPod("p", requests("1", "1Gi")), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 75},
		{name: "cpu and memory averaged", pod: testPod("p", requests("2", "")),
			node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 75},
		{name: "bound pods count", pod: testPod("p", requests("1", "1Gi")),
			node: NewNodeInfo(testNode("n", "4", "4Gi"), testPod("a", requests("2", "2Gi"))), want: 25},
		{name: "full", pod: testPod("p", requests("4", "4Gi")), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 0},
		{name: "overcommitted", pod: testPod("p", requests("8", "8Gi")), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 0},
		{name: "no capacity", pod: testPod("p"), node: NewNodeInfo(&api.Node{}), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (LeastAllocated{}).Score(NewPodInfo(tt.pod), tt.node); got != tt.want {
				t.Errorf("Score = %d, want %d", got, tt.want)
			}
		})
	}
}
