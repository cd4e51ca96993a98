package scheduler

// SelectorSpreadName names the SelectorSpread score.
const SelectorSpreadName = "SelectorSpread"

// SelectorSpread prefers nodes with fewer Pods of the same owner (api.AnnotationOwner), so the
// replicas of a workload spread out: MaxNodeScore where there are none, relative to the examined
// node that has the most. A Pod without an owner scores MinNodeScore everywhere. Its raw score is
// the node's count, kept by the NodeInfo, so that scoring every node costs O(nodes), not the
// O(nodes²) of comparing each node with all the others.
type SelectorSpread struct{}

var (
	_ ScorePlugin     = SelectorSpread{}
	_ ScoreNormalizer = SelectorSpread{}
)

// Name implements ScorePlugin.
func (SelectorSpread) Name() string { return SelectorSpreadName }

// Score implements ScorePlugin: the number of the owner's Pods on n.
func (SelectorSpread) Score(pod *PodInfo, n *NodeInfo) int64 {
	if pod.Owner == "" {
		return 0
	}
	return int64(n.OwnerCount(pod.Owner))
}

// NormalizeScores implements ScoreNormalizer: fewer than the most scores more.
func (SelectorSpread) NormalizeScores(pod *PodInfo, scores []int64) {
	var most int64
	for _, s := range scores {
		most = max(most, s)
	}
	for i, s := range scores {
		switch {
		case pod.Owner == "":
			scores[i] = MinNodeScore
		case most == 0:
			scores[i] = MaxNodeScore
		default:
			scores[i] = (most - s) * MaxNodeScore / most
		}
	}
}
