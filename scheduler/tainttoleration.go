package scheduler

import (
	"fmt"

	"github.com/gitfleet/gitfleet/api"
)

// TaintTolerationName names the TaintToleration filter.
const TaintTolerationName = "TaintToleration"

// ReasonUntoleratedTaint starts TaintToleration's reason, which names the first taint of the
// node the Pod does not tolerate, as kube-scheduler's does: "node(s) had untolerated taint
// {gpu: true}".
const ReasonUntoleratedTaint = "node(s) had untolerated taint"

// TaintToleration rejects nodes with a NoSchedule or NoExecute taint that no toleration of the
// Pod tolerates. PreferNoSchedule taints are preferences, not enforced.
type TaintToleration struct{}

var _ FilterPlugin = TaintToleration{}

// Name implements FilterPlugin.
func (TaintToleration) Name() string { return TaintTolerationName }

// Filter implements FilterPlugin.
func (TaintToleration) Filter(pod *PodInfo, n *NodeInfo) *Status {
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect != api.TaintNoSchedule && t.Effect != api.TaintNoExecute || tolerated(pod.Pod.Spec.Tolerations, t) {
			continue
		}
		return NewStatus(UnschedulableAndUnresolvable, fmt.Sprintf("%s {%s: %s}", ReasonUntoleratedTaint, t.Key, t.Value))
	}
	return nil
}

func tolerated(tols []api.Toleration, t *api.Taint) bool {
	for i := range tols {
		if tols[i].Tolerates(t) {
			return true
		}
	}
	return false
}
