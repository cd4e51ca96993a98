package scheduler

// LeastAllocatedName names the LeastAllocated score.
const LeastAllocatedName = "LeastAllocated"

// LeastAllocated prefers nodes with the larger share of cpu and memory left once the Pod is
// placed: the mean over both resources of free/capacity, scaled to MaxNodeScore.
type LeastAllocated struct{}

var _ ScorePlugin = LeastAllocated{}

// Name implements ScorePlugin.
func (LeastAllocated) Name() string { return LeastAllocatedName }

// Score implements ScorePlugin.
func (LeastAllocated) Score(pod *PodInfo, n *NodeInfo) int64 {
	return (freeShare(n.RequestedCPU+pod.CPU, n.CPUCapacity) +
		freeShare(n.RequestedMemory+pod.Memory, n.MemoryCapacity)) / 2
}

// freeShare scores the unrequested share of capacity; no capacity scores the minimum.
func freeShare(requested, capacity int64) int64 {
	if capacity <= 0 || requested >= capacity {
		return MinNodeScore
	}
	return (capacity - requested) * MaxNodeScore / capacity
}
