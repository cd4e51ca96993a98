package scheduler

// BalancedAllocationName names the BalancedAllocation score.
const BalancedAllocationName = "BalancedAllocation"

// BalancedAllocation prefers nodes whose cpu and memory would be used in like shares once the
// Pod is placed, so that neither runs out while the other sits idle: kube-scheduler's
// NodeResourcesBalancedAllocation, whose standard deviation of two shares is half their
// difference. A node without capacity of either scores the minimum.
type BalancedAllocation struct{}

var _ ScorePlugin = BalancedAllocation{}

// Name implements ScorePlugin.
func (BalancedAllocation) Name() string { return BalancedAllocationName }

// Score implements ScorePlugin.
func (BalancedAllocation) Score(pod *PodInfo, n *NodeInfo) int64 {
	if n.CPUCapacity <= 0 || n.MemoryCapacity <= 0 {
		return MinNodeScore
	}
	// Shares in hundredths (of MaxNodeScore), capped at the whole: the score is MaxNodeScore
	// less the shares' standard deviation in those units.
	cpu := min((n.RequestedCPU+pod.CPU)*MaxNodeScore/n.CPUCapacity, MaxNodeScore)
	mem := min((n.RequestedMemory+pod.Memory)*MaxNodeScore/n.MemoryCapacity, MaxNodeScore)
	diff := cpu - mem
	if diff < 0 {
		diff = -diff
	}
	return MaxNodeScore - diff/2
}
