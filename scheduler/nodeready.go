package scheduler

// NodeReadyName names the NodeReady filter.
const NodeReadyName = "NodeReady"

// ReasonNodeNotReady is NodeReady's reason for a node whose agent reports it not ready.
const ReasonNodeNotReady = "node(s) were not ready"

// ReasonNodeUnschedulable is NodeReady's reason for a cordoned node.
const ReasonNodeUnschedulable = "node(s) were unschedulable"

// NodeReady rejects nodes that are not Ready (the store reads a node whose heartbeat stopped
// as not Ready) and nodes cordoned by their spec.
type NodeReady struct{}

var _ FilterPlugin = NodeReady{}

// Name implements FilterPlugin.
func (NodeReady) Name() string { return NodeReadyName }

// Filter implements FilterPlugin.
func (NodeReady) Filter(_ *PodInfo, n *NodeInfo) *Status {
	switch {
	case !n.Node.Status.Ready:
		return NewStatus(UnschedulableAndUnresolvable, ReasonNodeNotReady)
	case n.Node.Spec.Unschedulable:
		return NewStatus(UnschedulableAndUnresolvable, ReasonNodeUnschedulable)
	}
	return nil
}
