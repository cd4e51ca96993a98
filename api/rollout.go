package api

import (
	"math"
	"strconv"
	"strings"
)

// Deployment strategy types, as in Kubernetes.
const (
	// StrategyRollingUpdate replaces Pods a share at a time, within maxSurge and maxUnavailable.
	StrategyRollingUpdate = "RollingUpdate"
	// StrategyRecreate stops every old Pod before the first new one is made.
	StrategyRecreate = "Recreate"
)

// DeploymentStrategy says how a Deployment's new template replaces the Pods of the old ones.
type DeploymentStrategy struct {
	// Type is StrategyRollingUpdate (the default) or StrategyRecreate.
	Type          string                   `json:"type,omitempty"`
	RollingUpdate *RollingUpdateDeployment `json:"rollingUpdate,omitempty"`
}

// RollingUpdateDeployment bounds a rolling update: each is a number of Pods or a percentage of
// the replicas ("25%"), 25 % when unset, as in Kubernetes.
type RollingUpdateDeployment struct {
	// MaxUnavailable is how many of the replicas may be unavailable during the update (a
	// percentage rounds down).
	MaxUnavailable *IntOrString `json:"maxUnavailable,omitempty"`
	// MaxSurge is how many Pods may run above the replicas during the update (a percentage
	// rounds up).
	MaxSurge *IntOrString `json:"maxSurge,omitempty"`
}

// Defaults of a Deployment's rollout fields, as in Kubernetes.
const (
	DefaultMaxSurge                = "25%"
	DefaultMaxUnavailable          = "25%"
	DefaultRevisionHistoryLimit    = 10
	DefaultProgressDeadlineSeconds = 600
)

// StrategyType is d's strategy type, defaulted.
func (d *Deployment) StrategyType() string {
	if d.Spec.Strategy.Type == "" {
		return StrategyRollingUpdate
	}
	return d.Spec.Strategy.Type
}

// RollingBounds resolves maxSurge and maxUnavailable against d's replicas as Kubernetes does:
// a surge percentage rounds up, an unavailable one down, and when both come to 0 one Pod may
// be unavailable, so that a rollout can always move. Recreate has no bounds: (0, replicas).
func (d *Deployment) RollingBounds() (surge, unavailable int) {
	want := d.ReplicaCount()
	if d.StrategyType() == StrategyRecreate {
		return 0, want
	}
	s, u := FromString(DefaultMaxSurge), FromString(DefaultMaxUnavailable)
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			s = *ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			u = *ru.MaxUnavailable
		}
	}
	surge, _ = ScaledValue(s, want, true)
	unavailable, _ = ScaledValue(u, want, false)
	unavailable = min(unavailable, want)
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// ScaledValue is v of total: v itself when it is a number, else the percentage v of total,
// rounded up or down; false when v is neither a number nor "N%" (validation refuses it).
func ScaledValue(v IntOrString, total int, roundUp bool) (int, bool) {
	if !v.IsString {
		return int(v.IntVal), true
	}
	pct, ok := percent(v.StrVal)
	if !ok {
		return 0, false
	}
	x := float64(pct) * float64(total) / 100
	if roundUp {
		return int(math.Ceil(x)), true
	}
	return int(math.Floor(x)), true
}

// percent reads "N%" with N a whole number of 0 or more.
func percent(s string) (int, bool) {
	n, found := strings.CutSuffix(s, "%")
	if !found {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 0 || n != strconv.Itoa(v) {
		return 0, false
	}
	return v, true
}

// HistoryLimit is d's revisionHistoryLimit, defaulted.
func (d *Deployment) HistoryLimit() int {
	if d.Spec.RevisionHistoryLimit == nil {
		return DefaultRevisionHistoryLimit
	}
	return int(*d.Spec.RevisionHistoryLimit)
}

// ProgressDeadlineSeconds is d's progressDeadlineSeconds; false when unset (the controller's
// --progress-deadline applies then).
func (d *Deployment) ProgressDeadlineSeconds() (int, bool) {
	if d.Spec.ProgressDeadlineSeconds == nil {
		return 0, false
	}
	return int(*d.Spec.ProgressDeadlineSeconds), true
}
