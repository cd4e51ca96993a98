package scheduler

// NodePodsName names the NodePods filter.
const NodePodsName = "NodePods"

// ReasonTooManyPods is NodePods' reason for a node that runs as many Pods as it may.
const ReasonTooManyPods = "Too many pods"

// NodePods rejects nodes that already run their capacity of Pods ("pods", DefaultMaxPods when
// the node does not say): past it the node's Pod range runs out and the Pod fails in CNI forever
// instead of waiting for room.
type NodePods struct{}

var _ FilterPlugin = NodePods{}

// Name implements FilterPlugin.
func (NodePods) Name() string { return NodePodsName }

// Filter implements FilterPlugin.
func (NodePods) Filter(_ *PodInfo, n *NodeInfo) *Status {
	if len(n.Pods) >= n.MaxPods {
		return NewStatus(Unschedulable, ReasonTooManyPods)
	}
	return nil
}
