package scheduler

// NodePortsName names the NodePorts filter.
const NodePortsName = "NodePorts"

// ReasonNodePortsConflict is NodePorts' reason for a node where a requested host port is taken.
const ReasonNodePortsConflict = "node(s) didn't have free ports for the requested pod ports"

// NodePorts rejects nodes where a host port of the Pod (same protocol and number) is taken by a
// Pod bound there. A host-network Pod takes its container ports.
type NodePorts struct{}

var _ FilterPlugin = NodePorts{}

// Name implements FilterPlugin.
func (NodePorts) Name() string { return NodePortsName }

// Filter implements FilterPlugin.
func (NodePorts) Filter(pod *PodInfo, n *NodeInfo) *Status {
	for _, hp := range pod.Ports {
		if n.UsedPorts[hp] > 0 {
			return NewStatus(Unschedulable, ReasonNodePortsConflict)
		}
	}
	return nil
}
