package scheduler

// NodeAffinityName names the NodeAffinity filter.
const NodeAffinityName = "NodeAffinity"

// ReasonNodeAffinityMismatch is NodeAffinity's reason for a node no term of the Pod's required
// node affinity matches.
const ReasonNodeAffinityMismatch = "node(s) didn't match Pod's node affinity"

// NodeAffinity rejects nodes that match no term of the Pod's
// affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution: terms are ORed, the
// expressions of a term ANDed, as in Kubernetes.
type NodeAffinity struct{}

var _ FilterPlugin = NodeAffinity{}

// Name implements FilterPlugin.
func (NodeAffinity) Name() string { return NodeAffinityName }

// Filter implements FilterPlugin.
func (NodeAffinity) Filter(pod *PodInfo, n *NodeInfo) *Status {
	if pod.NodeAffinity == nil || pod.NodeAffinity.Matches(n.Node.Metadata.Labels) {
		return nil
	}
	return NewStatus(UnschedulableAndUnresolvable, ReasonNodeAffinityMismatch)
}
