package scheduler

import "github.com/gitfleet/gitfleet/api"

// NodeReadyName names the NodeReady filter.
const NodeReadyName = "NodeReady"

// ReasonNodeNotReady is NodeReady's reason for a node whose agent reports it not ready.
const ReasonNodeNotReady = "node(s) were not ready"

// NodeReady rejects nodes whose status is not Ready. It ignores the heartbeat's age: the agent's
// lease removes a dead node's key.
type NodeReady struct{}

var _ FilterPlugin = NodeReady{}

// Name implements FilterPlugin.
func (NodeReady) Name() string { return NodeReadyName }

// Filter implements FilterPlugin.
func (NodeReady) Filter(_ *api.Pod, n *NodeInfo) *Status {
	if n.Node.Status.Ready {
		return nil
	}
	return NewStatus(UnschedulableAndUnresolvable, ReasonNodeNotReady)
}
