package api

import "slices"

// The scheduling constraints of a Pod and the taints of a node, as in Kubernetes' core/v1:
// required node affinity, pod anti-affinity by topology, tolerations. Only the required
// ("hard") forms are supported; the scheduler reads them, nothing else does.

// Affinity holds a Pod's affinity rules.
type Affinity struct {
	NodeAffinity    *NodeAffinity    `json:"nodeAffinity,omitempty"`
	PodAntiAffinity *PodAntiAffinity `json:"podAntiAffinity,omitempty"`
}

// NodeAffinity restricts the nodes a Pod may run on by their labels.
type NodeAffinity struct {
	RequiredDuringSchedulingIgnoredDuringExecution *NodeSelector `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// NodeSelector matches a node when any of its terms does.
type NodeSelector struct {
	NodeSelectorTerms []NodeSelectorTerm `json:"nodeSelectorTerms"`
}

// NodeSelectorTerm matches a node when all of its expressions do; an empty term matches none,
// as in Kubernetes.
type NodeSelectorTerm struct {
	MatchExpressions []SelectorRequirement `json:"matchExpressions,omitempty"`
}

// Selector operators.
const (
	OpIn           = "In"
	OpNotIn        = "NotIn"
	OpExists       = "Exists"
	OpDoesNotExist = "DoesNotExist"
)

// SelectorRequirement is one expression over a label: Key Operator Values.
type SelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Matches reports whether labels satisfy r; an unknown operator matches nothing.
func (r *SelectorRequirement) Matches(labels map[string]string) bool {
	v, ok := labels[r.Key]
	switch r.Operator {
	case OpIn:
		return ok && slices.Contains(r.Values, v)
	case OpNotIn:
		return !ok || !slices.Contains(r.Values, v)
	case OpExists:
		return ok
	case OpDoesNotExist:
		return !ok
	}
	return false
}

// Matches reports whether labels satisfy every expression of a non-empty term.
func (t *NodeSelectorTerm) Matches(labels map[string]string) bool {
	if len(t.MatchExpressions) == 0 {
		return false
	}
	for i := range t.MatchExpressions {
		if !t.MatchExpressions[i].Matches(labels) {
			return false
		}
	}
	return true
}

// Matches reports whether any term of s matches labels.
func (s *NodeSelector) Matches(labels map[string]string) bool {
	for i := range s.NodeSelectorTerms {
		if s.NodeSelectorTerms[i].Matches(labels) {
			return true
		}
	}
	return false
}

// PodAntiAffinity keeps a Pod away from the Pods its terms select.
type PodAntiAffinity struct {
	RequiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm `json:"requiredDuringSchedulingIgnoredDuringExecution,omitempty"`
}

// LabelHostname is the node label that names the node: the one topology key of anti-affinity.
const LabelHostname = "kubernetes.io/hostname"

// PodAffinityTerm selects Pods of the Pod's namespace, within one value of TopologyKey.
type PodAffinityTerm struct {
	LabelSelector *PodSelector `json:"labelSelector,omitempty"`
	TopologyKey   string       `json:"topologyKey"`
}

// PodSelector selects Pods by labels: all of MatchLabels and all of MatchExpressions. A nil
// selector selects nothing; an empty one everything, as in Kubernetes.
type PodSelector struct {
	MatchLabels      map[string]string     `json:"matchLabels,omitempty"`
	MatchExpressions []SelectorRequirement `json:"matchExpressions,omitempty"`
}

// Matches reports whether labels satisfy s.
func (s *PodSelector) Matches(labels map[string]string) bool {
	if s == nil {
		return false
	}
	if !HasLabels(labels, s.MatchLabels) {
		return false
	}
	for i := range s.MatchExpressions {
		if !s.MatchExpressions[i].Matches(labels) {
			return false
		}
	}
	return true
}

// Taint effects. PreferNoSchedule is accepted and, being a preference, not enforced.
const (
	TaintNoSchedule       = "NoSchedule"
	TaintPreferNoSchedule = "PreferNoSchedule"
	TaintNoExecute        = "NoExecute"
)

// Taint keeps off a node the Pods that do not tolerate it.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// Toleration operators.
const (
	TolerationOpEqual  = "Equal"
	TolerationOpExists = "Exists"
)

// Toleration lets a Pod onto nodes with a matching taint. An empty Key with Exists tolerates
// every taint; an empty Effect every effect; an empty Operator is Equal.
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
}

// Tolerates reports whether t tolerates taint.
func (t *Toleration) Tolerates(taint *Taint) bool {
	if t.Effect != "" && t.Effect != taint.Effect {
		return false
	}
	if t.Key != "" && t.Key != taint.Key {
		return false
	}
	switch t.Operator {
	case TolerationOpExists:
		return true
	case "", TolerationOpEqual:
		return t.Key != "" && t.Value == taint.Value
	}
	return false
}

// WhenUnsatisfiable values of a TopologySpreadConstraint.
const (
	DoNotSchedule  = "DoNotSchedule"
	ScheduleAnyway = "ScheduleAnyway"
)

// TopologySpreadConstraint spreads the Pods LabelSelector selects (in the Pod's namespace) over
// the values of the node label TopologyKey: placing the Pod must not make the count of one
// value exceed the smallest count by more than MaxSkew. DoNotSchedule makes that a filter,
// ScheduleAnyway a preference.
type TopologySpreadConstraint struct {
	MaxSkew           int32        `json:"maxSkew"`
	TopologyKey       string       `json:"topologyKey"`
	WhenUnsatisfiable string       `json:"whenUnsatisfiable"`
	LabelSelector     *PodSelector `json:"labelSelector,omitempty"`
}
