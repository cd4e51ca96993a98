package scheduler

import "github.com/gitfleet/gitfleet/api"

// SelectorSpreadName names the SelectorSpread score.
const SelectorSpreadName = "SelectorSpread"

// SelectorSpread prefers nodes with fewer Pods of the same owner (api.AnnotationOwner), so the
// replicas of a workload spread out: MaxNodeScore where there are none, relative to the feasible
// node that has the most. A Pod without an owner scores MinNodeScore everywhere.
type SelectorSpread struct{}

var _ ScorePlugin = SelectorSpread{}

// Name implements ScorePlugin.
func (SelectorSpread) Name() string { return SelectorSpreadName }

// Score implements ScorePlugin. It is O(len(all)): it finds the largest count among all.
func (SelectorSpread) Score(pod *api.Pod, n *NodeInfo, all []*NodeInfo) int64 {
	owner := pod.Metadata.Annotations[api.AnnotationOwner]
	if owner == "" {
		return MinNodeScore
	}
	most := n.OwnerCount(owner)
	for _, o := range all {
		most = max(most, o.OwnerCount(owner))
	}
	if most == 0 {
		return MaxNodeScore
	}
	return int64(most-n.OwnerCount(owner)) * MaxNodeScore / int64(most)
}
