package scheduler

import "github.com/gitfleet/gitfleet/api"

// PodAntiAffinityName names the PodAntiAffinity filter.
const PodAntiAffinityName = "PodAntiAffinity"

// Reasons of PodAntiAffinity, kube-scheduler's: the Pod's own terms select a Pod of the node,
// or a Pod of the node has a term that selects the Pod.
const (
	ReasonAntiAffinityRulesNotMatch         = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules"
)

// PodAntiAffinity enforces required pod anti-affinity by node (topologyKey
// kubernetes.io/hostname, the only one validation admits), both ways: the Pod goes on no node
// that holds a Pod its terms select, nor on one holding a Pod whose terms select it. The node's
// label counts rule most nodes out without a look at their Pods.
type PodAntiAffinity struct{}

var _ FilterPlugin = PodAntiAffinity{}

// Name implements FilterPlugin.
func (PodAntiAffinity) Name() string { return PodAntiAffinityName }

// Filter implements FilterPlugin.
func (PodAntiAffinity) Filter(pod *PodInfo, n *NodeInfo) *Status {
	ns := pod.Pod.Metadata.Namespace
	for i := range pod.AntiAffinity {
		term := &pod.AntiAffinity[i]
		if term.LabelSelector != nil && mayHold(n, term.LabelSelector.MatchLabels) && holdsSelected(n, ns, term) {
			return NewStatus(Unschedulable, ReasonAntiAffinityRulesNotMatch)
		}
	}
	for _, other := range n.antiAffinity {
		for i := range other.AntiAffinity {
			if selects(other.Pod.Metadata.Namespace, &other.AntiAffinity[i], pod.Pod) {
				return NewStatus(Unschedulable, ReasonExistingAntiAffinityRulesNotMatch)
			}
		}
	}
	return nil
}

// mayHold reports whether n may hold a Pod with every pair of labels: false when one pair is
// on none of its Pods.
func mayHold(n *NodeInfo, labels map[string]string) bool {
	for k, v := range labels {
		if n.LabelCount(k, v) == 0 {
			return false
		}
	}
	return true
}

// holdsSelected reports whether a Pod of n is selected by term, of a Pod in namespace ns.
func holdsSelected(n *NodeInfo, ns string, term *api.PodAffinityTerm) bool {
	for _, p := range n.Pods {
		if selects(ns, term, p.Pod) {
			return true
		}
	}
	return false
}
