package scheduler

import "github.com/gitfleet/gitfleet/api"

// PodTopologySpreadName names the PodTopologySpread filter and score.
const PodTopologySpreadName = "PodTopologySpread"

// Reasons of the PodTopologySpread filter, kube-scheduler's.
const (
	ReasonSpreadSkew         = "node(s) didn't match pod topology spread constraints"
	ReasonSpreadMissingLabel = "node(s) didn't match pod topology spread constraints (missing required label)"
)

// PodTopologySpread enforces a Pod's topologySpreadConstraints from the counts the Cluster
// prepared (PodInfo.Spread): as a filter, the DoNotSchedule ones (placing the Pod on a node
// must not make its topology value's count exceed the smallest by more than maxSkew, and a node
// without the label is out); as a score, the ScheduleAnyway ones (fewer selected Pods in the
// node's topology value scores more, relative to the examined node with the most).
type PodTopologySpread struct{}

var (
	_ FilterPlugin    = PodTopologySpread{}
	_ ScorePlugin     = PodTopologySpread{}
	_ ScoreNormalizer = PodTopologySpread{}
)

// Name implements FilterPlugin and ScorePlugin.
func (PodTopologySpread) Name() string { return PodTopologySpreadName }

// Filter implements FilterPlugin.
func (PodTopologySpread) Filter(pod *PodInfo, n *NodeInfo) *Status {
	for i := range pod.Spread {
		s := &pod.Spread[i]
		if s.Constraint.WhenUnsatisfiable != api.DoNotSchedule {
			continue
		}
		v, ok := n.Node.Metadata.Labels[s.Constraint.TopologyKey]
		if !ok {
			return NewStatus(UnschedulableAndUnresolvable, ReasonSpreadMissingLabel)
		}
		if s.Counts[v]+s.Self-s.Min > int(s.Constraint.MaxSkew) {
			return NewStatus(Unschedulable, ReasonSpreadSkew)
		}
	}
	return nil
}

// Score implements ScorePlugin: the selected Pods in n's topology values, summed over the
// ScheduleAnyway constraints; -1 when n lacks one of their labels.
func (PodTopologySpread) Score(pod *PodInfo, n *NodeInfo) int64 {
	var sum int64
	for i := range pod.Spread {
		s := &pod.Spread[i]
		if s.Constraint.WhenUnsatisfiable != api.ScheduleAnyway {
			continue
		}
		v, ok := n.Node.Metadata.Labels[s.Constraint.TopologyKey]
		if !ok {
			return -1
		}
		sum += int64(s.Counts[v])
	}
	return sum
}

// NormalizeScores implements ScoreNormalizer: fewer than the most scores more; a node without
// the label scores the minimum.
func (PodTopologySpread) NormalizeScores(_ *PodInfo, scores []int64) {
	var most int64
	for _, s := range scores {
		most = max(most, s)
	}
	for i, s := range scores {
		switch {
		case s < 0:
			scores[i] = MinNodeScore
		case most == 0:
			scores[i] = MaxNodeScore
		default:
			scores[i] = (most - s) * MaxNodeScore / most
		}
	}
}
