package scheduler

import (
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestSelectorSpread(t *testing.T) {
	const web = "Deployment/default/web"
	replica := func(name string) *api.Pod { return testPod(name, owner(web)) }
	empty := NewNodeInfo(testNode("empty", "1", "1Gi"))
	one := NewNodeInfo(testNode("one", "1", "1Gi"), replica("a"), testPod("other", owner("Deployment/default/db")))
	two := NewNodeInfo(testNode("two", "1", "1Gi"), replica("b"), replica("c"))
	all := []*NodeInfo{empty, one, two}
	tests := []struct {
		name string
		pod  *api.Pod
		node *NodeInfo
		all  []*NodeInfo
		want int64
	}{
		{name: "no owner", pod: testPod("p"), node: empty, all: all, want: 0},
		{name: "none of the owner on the examined nodes", pod: replica("p"), node: empty, all: []*NodeInfo{empty}, want: 100},
		{name: "none of the owner anywhere", pod: testPod("p", owner("Job/default/x")), node: two, all: all, want: 100},
		{name: "none here", pod: replica("p"), node: empty, all: all, want: 100},
		{name: "half the most", pod: replica("p"), node: one, all: all, want: 50},
		{name: "the most", pod: replica("p"), node: two, all: all, want: 0},
		{name: "only feasible nodes compare", pod: replica("p"), node: one, all: []*NodeInfo{empty, one}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := NewPodInfo(tt.pod)
			scores := make([]int64, len(tt.all))
			at := -1
			for i, n := range tt.all {
				scores[i] = (SelectorSpread{}).Score(pod, n)
				if n == tt.node {
					at = i
				}
			}
			(SelectorSpread{}).NormalizeScores(pod, scores)
			if got := scores[at]; got != tt.want {
				t.Errorf("score = %d, want %d", got, tt.want)
			}
		})
	}
}
