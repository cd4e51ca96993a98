package scheduler

import (
	"strings"
)

// The range of the score a ScorePlugin returns for one node.
const (
	MinNodeScore int64 = 0
	MaxNodeScore int64 = 100
)

// Code says how a filter rejected a node.
type Code int

// Codes of a non-nil Status. A nil *Status means success: the node fits.
const (
	// Unschedulable: the node does not fit the Pod now; fewer Pods on it might make it fit.
	Unschedulable Code = iota + 1
	// UnschedulableAndUnresolvable: the node does not fit the Pod, whatever runs on it.
	UnschedulableAndUnresolvable
	// Error: the plugin could not decide, for example because the node's capacity does not parse.
	Error
)

// String names the code.
func (c Code) String() string {
	switch c {
	case Unschedulable:
		return "Unschedulable"
	case UnschedulableAndUnresolvable:
		return "UnschedulableAndUnresolvable"
	case Error:
		return "Error"
	}
	return "Unknown"
}

// Status is a filter's verdict on one node; nil means the node fits. Reasons are short phrases
// that FitError counts across nodes ("Insufficient cpu"); one node may fail for several reasons.
type Status struct {
	Code    Code
	Reasons []string
	// Plugin names the filter that rejected the node; Schedule sets it.
	Plugin string
}

// NewStatus returns a Status with code and reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{Code: code, Reasons: reasons}
}

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.Reasons, ", ")
}

// FilterPlugin decides whether a Pod may run on a node.
type FilterPlugin interface {
	Name() string
	// Filter returns nil when pod fits on n, else why not. It reads its arguments only: no I/O,
	// no clock, no change to pod or n; the same inputs give the same answer.
	Filter(pod *PodInfo, n *NodeInfo) *Status
}

// ScorePlugin ranks the nodes that passed every filter.
type ScorePlugin interface {
	Name() string
	// Score rates n for pod, reading n alone, so that a placement costs O(nodes examined).
	// Without a ScoreNormalizer it must lie from MinNodeScore to MaxNodeScore (higher is
	// better). It is pure, like Filter.
	Score(pod *PodInfo, n *NodeInfo) int64
}

// ScoreNormalizer is a ScorePlugin whose raw scores only mean something relative to each other
// (a count of replicas, say): it maps the raw scores of every examined feasible node, in place,
// to MinNodeScore..MaxNodeScore, in one pass over them.
type ScoreNormalizer interface {
	NormalizeScores(pod *PodInfo, scores []int64)
}

// WeightedScore is a score plugin and the weight of its score in a node's total.
type WeightedScore struct {
	Plugin ScorePlugin
	Weight int64
}

// Profile is the ordered filters and the weighted scores Schedule runs.
type Profile struct {
	// Filters run in order; the first that rejects a node decides its Status.
	Filters []FilterPlugin
	Scores  []WeightedScore
}

// DefaultProfile is kube-scheduler's default set, small: ready, selector, node affinity, taints,
// ports, pod-count, resources, pod anti-affinity and topology spread filters, the cheap and the
// unresolvable first; least allocated and balanced allocation (weight 1 each), owner spread and
// topology spread (weight 2 each) scores.
func DefaultProfile() Profile {
	return Profile{
		Filters: []FilterPlugin{NodeReady{}, NodeSelector{}, NodeAffinity{}, TaintToleration{}, NodePorts{}, NodePods{},
			NodeResourcesFit{}, PodAntiAffinity{}, PodTopologySpread{}},
		Scores: []WeightedScore{
			{Plugin: LeastAllocated{}, Weight: 1},
			{Plugin: BalancedAllocation{}, Weight: 1},
			{Plugin: SelectorSpread{}, Weight: 2},
			{Plugin: PodTopologySpread{}, Weight: 2},
		},
	}
}

// isZero reports whether p holds no plugin at all.
func (p Profile) isZero() bool { return len(p.Filters) == 0 && len(p.Scores) == 0 }
