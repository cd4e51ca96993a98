package scheduler

import "github.com/gitfleet/gitfleet/api"

// NodeSelectorName names the NodeSelector filter.
const NodeSelectorName = "NodeSelector"

// ReasonNodeSelectorMismatch is NodeSelector's reason for a node that lacks a selected label.
const ReasonNodeSelectorMismatch = "node(s) didn't match Pod's node selector"

// NodeSelector rejects nodes whose labels do not include every pair of the Pod's nodeSelector.
type NodeSelector struct{}

var _ FilterPlugin = NodeSelector{}

// Name implements FilterPlugin.
func (NodeSelector) Name() string { return NodeSelectorName }

// Filter implements FilterPlugin.
func (NodeSelector) Filter(pod *PodInfo, n *NodeInfo) *Status {
	if !api.HasLabels(n.Node.Metadata.Labels, pod.Pod.Spec.NodeSelector) {
		return NewStatus(UnschedulableAndUnresolvable, ReasonNodeSelectorMismatch)
	}
	return nil
}
