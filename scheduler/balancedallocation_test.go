package scheduler

import (
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestBalancedAllocation(t *testing.T) {
	tests := []struct {
		name string
		pod  *api.Pod
		node *NodeInfo
		want int64
	}{
		{name: "empty node, no requests", pod: testPod("p"), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 100},
		{name: "like shares", pod: testPod("p", requests("1", "1Gi")), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 100},
		{name: "cpu only: a quarter apart", pod: testPod("p", requests("2", "")), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 75},
		{name: "bound pods count", pod: testPod("p", requests("", "1Gi")),
			node: NewNodeInfo(testNode("n", "4", "4Gi"), testPod("a", requests("3", "2Gi"))), want: 100},
		{name: "all cpu, no memory", pod: testPod("p", requests("4", "")), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 50},
		{name: "overcommitted caps at full", pod: testPod("p", requests("8", "4Gi")), node: NewNodeInfo(testNode("n", "4", "4Gi")), want: 100},
		{name: "no capacity", pod: testPod("p"), node: NewNodeInfo(&api.Node{}), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (BalancedAllocation{}).Score(NewPodInfo(tt.pod), tt.node); got != tt.want {
				t.Errorf("Score = %d, want %d", got, tt.want)
			}
		})
	}
}
