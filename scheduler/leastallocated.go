package scheduler

import "github.com/gitfleet/gitfleet/api"

// LeastAllocatedName names the LeastAllocated score.
const LeastAllocatedName = "LeastAllocated"

// LeastAllocated prefers nodes with the larger share of cpu and memory left once the Pod is
// placed: the mean over both resources of free/capacity, scaled to MaxNodeScore.
type LeastAllocated struct{}

var _ ScorePlugin = LeastAllocated{}

// Name implements ScorePlugin.
func (LeastAllocated) Name() string { return LeastAllocatedName }

// Score implements ScorePlugin.
func (LeastAllocated) Score(pod *api.Pod, n *NodeInfo, _ []*NodeInfo) int64 {
	cpu, mem := api.PodRequests(&pod.Spec)
	return (freeShare(n.RequestedCPU+cpu, n.CPUCapacity) +
		freeShare(n.RequestedMemory+mem, n.MemoryCapacity)) / 2
}

// freeShare scores the unrequested share of capacity; no capacity scores the minimum.
func freeShare(requested, capacity int64) int64 {
	if capacity <= 0 || requested >= capacity {
		return MinNodeScore
	}
	return (capacity - requested) * MaxNodeScore / capacity
}
