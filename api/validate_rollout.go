package api

import (
	"fmt"
	"strconv"
)

// intOrPercent checks a maxSurge or maxUnavailable value; percentages above max are
// refused (0: no bound).
func (v *validator) intOrPercent(path string, x *IntOrString, max int) {
	if x == nil {
		return
	}
	if !x.IsString {
		if x.IntVal < 0 {
			v.add(path, "must be 0 or more, not %d", x.IntVal)
		}
		return
	}
	pct, ok := percent(x.StrVal)
	switch {
	case !ok:
		v.add(path, "invalid value %q: use a number of Pods (2) or a percentage of the replicas (\"25%%\")", x.StrVal)
	case max > 0 && pct > max:
		v.add(path, "must be at most %d%%, not %s", max, x.StrVal)
	}
}

// rollout checks the rollout fields of a Deployment's spec.
func (v *validator) rollout(path string, s *DeploymentSpec) {
	st := s.Strategy
	switch st.Type {
	case "", StrategyRollingUpdate:
		if ru := st.RollingUpdate; ru != nil {
			p := path + ".strategy.rollingUpdate"
			v.intOrPercent(p+".maxSurge", ru.MaxSurge, 0)
			v.intOrPercent(p+".maxUnavailable", ru.MaxUnavailable, 100)
			if isZero(ru.MaxSurge) && isZero(ru.MaxUnavailable) {
				v.add(p+".maxUnavailable", "may not be 0 when maxSurge is 0: the rollout could never replace a Pod")
			}
		}
	case StrategyRecreate:
		if st.RollingUpdate != nil {
			v.add(path+".strategy.rollingUpdate", "may not be set when strategy type is %s", StrategyRecreate)
		}
	default:
		v.add(path+".strategy.type", "unsupported value %q: use %s or %s", st.Type, StrategyRollingUpdate, StrategyRecreate)
	}
	if s.MinReadySeconds < 0 {
		v.add(path+".minReadySeconds", "must be 0 or more, not %d", s.MinReadySeconds)
	}
	if n := s.RevisionHistoryLimit; n != nil && *n < 0 {
		v.add(path+".revisionHistoryLimit", "must be 0 or more, not %d", *n)
	}
	deadline, set := int32(DefaultProgressDeadlineSeconds), s.ProgressDeadlineSeconds != nil
	if set {
		deadline = *s.ProgressDeadlineSeconds
	}
	switch {
	case deadline <= 0:
		v.add(path+".progressDeadlineSeconds", "must be more than 0, not %d", deadline)
	case deadline <= s.MinReadySeconds:
		field := path + ".progressDeadlineSeconds"
		if !set {
			field = path + ".minReadySeconds"
		}
		v.add(field, "progressDeadlineSeconds (%s) must be more than minReadySeconds (%d): a new Pod "+
			"could never become available in time", deadlineText(deadline, set), s.MinReadySeconds)
	}
}

// isZero reports whether a maxSurge or maxUnavailable value is written as 0 or "0%".
func isZero(x *IntOrString) bool {
	if x == nil {
		return false
	}
	n, ok := ScaledValue(*x, 100, true)
	return ok && n == 0
}

func deadlineText(d int32, set bool) string {
	if set {
		return strconv.Itoa(int(d))
	}
	return fmt.Sprintf("%d by default", d)
}
