package api

import (
	"fmt"
	"slices"
)

// scheduling checks a Pod's scheduling constraints (see scheduling.go) below path, its spec.
func (v *validator) scheduling(path string, s *PodSpec) {
	if a := s.Affinity; a != nil {
		if na := a.NodeAffinity; na != nil && na.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			v.nodeSelector(path+".affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
				na.RequiredDuringSchedulingIgnoredDuringExecution)
		}
		if pa := a.PodAntiAffinity; pa != nil {
			for i := range pa.RequiredDuringSchedulingIgnoredDuringExecution {
				v.podAffinityTerm(fmt.Sprintf("%s.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[%d]", path, i),
					&pa.RequiredDuringSchedulingIgnoredDuringExecution[i])
			}
		}
	}
	for i := range s.Tolerations {
		v.toleration(fmt.Sprintf("%s.tolerations[%d]", path, i), &s.Tolerations[i])
	}
	for i := range s.TopologySpreadConstraints {
		v.spreadConstraint(fmt.Sprintf("%s.topologySpreadConstraints[%d]", path, i), &s.TopologySpreadConstraints[i])
	}
}

func (v *validator) spreadConstraint(path string, c *TopologySpreadConstraint) {
	if c.MaxSkew < 1 {
		v.add(path+".maxSkew", "must be 1 or more, not %d", c.MaxSkew)
	}
	if c.TopologyKey == "" {
		v.add(path+".topologyKey", "required")
	} else {
		v.check(path+".topologyKey", checkQualifiedName(c.TopologyKey))
	}
	switch c.WhenUnsatisfiable {
	case DoNotSchedule, ScheduleAnyway:
	case "":
		v.add(path+".whenUnsatisfiable", "required: DoNotSchedule or ScheduleAnyway")
	default:
		v.add(path+".whenUnsatisfiable", "unsupported value %q: use DoNotSchedule or ScheduleAnyway", c.WhenUnsatisfiable)
	}
	if c.LabelSelector == nil {
		v.add(path+".labelSelector", "required: without one the constraint counts no Pod")
		return
	}
	v.labels(path+".labelSelector.matchLabels", c.LabelSelector.MatchLabels)
	v.requirements(path+".labelSelector.matchExpressions", c.LabelSelector.MatchExpressions)
}

func (v *validator) nodeSelector(path string, s *NodeSelector) {
	if len(s.NodeSelectorTerms) == 0 {
		v.add(path+".nodeSelectorTerms", "at least one term is required")
	}
	for i, t := range s.NodeSelectorTerms {
		p := fmt.Sprintf("%s.nodeSelectorTerms[%d]", path, i)
		if len(t.MatchExpressions) == 0 {
			v.add(p, "matchExpressions is required: an empty term matches no node")
		}
		v.requirements(p+".matchExpressions", t.MatchExpressions)
	}
}

// requirements checks selector expressions: In and NotIn need values, Exists and
// DoesNotExist take none.
func (v *validator) requirements(path string, rs []SelectorRequirement) {
	for i, r := range rs {
		p := fmt.Sprintf("%s[%d]", path, i)
		if r.Key == "" {
			v.add(p+".key", "required")
		} else {
			v.check(p+".key", checkQualifiedName(r.Key))
		}
		switch r.Operator {
		case OpIn, OpNotIn:
			if len(r.Values) == 0 {
				v.add(p+".values", "at least one value is required with %s", r.Operator)
			}
			for j, val := range r.Values {
				v.check(fmt.Sprintf("%s.values[%d]", p, j), checkLabelValue(val))
			}
		case OpExists, OpDoesNotExist:
			if len(r.Values) != 0 {
				v.add(p+".values", "must be empty with %s", r.Operator)
			}
		default:
			v.add(p+".operator", "unsupported value %q: use In, NotIn, Exists or DoesNotExist", r.Operator)
		}
	}
}

func (v *validator) podAffinityTerm(path string, t *PodAffinityTerm) {
	if t.TopologyKey != LabelHostname {
		v.add(path+".topologyKey", "unsupported value %q: use %s (anti-affinity is by node)", t.TopologyKey, LabelHostname)
	}
	if t.LabelSelector == nil {
		v.add(path+".labelSelector", "required: without one the term selects no Pod")
		return
	}
	v.labels(path+".labelSelector.matchLabels", t.LabelSelector.MatchLabels)
	v.requirements(path+".labelSelector.matchExpressions", t.LabelSelector.MatchExpressions)
}

var taintEffects = []string{TaintNoSchedule, TaintPreferNoSchedule, TaintNoExecute}

func (v *validator) toleration(path string, t *Toleration) {
	if t.Key != "" {
		v.check(path+".key", checkQualifiedName(t.Key))
	}
	switch t.Operator {
	case "", TolerationOpEqual:
		if t.Key == "" {
			v.add(path+".key", "required with operator Equal; use operator Exists to tolerate every taint")
		}
		v.check(path+".value", checkLabelValue(t.Value))
	case TolerationOpExists:
		if t.Value != "" {
			v.add(path+".value", "must be empty with operator Exists")
		}
	default:
		v.add(path+".operator", "unsupported value %q: use Equal or Exists", t.Operator)
	}
	if t.Effect != "" && !slices.Contains(taintEffects, t.Effect) {
		v.add(path+".effect", "unsupported value %q: use NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
	}
}
