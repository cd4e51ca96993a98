package scheduler

import "github.com/gitfleet/gitfleet/api"

// PodInfo is a Pod with what every filter and score reads of it parsed once: a placement
// examines hundreds of nodes, and parsing "128Mi" for each was most of its cost.
type PodInfo struct {
	Pod *api.Pod
	// Name is "namespace/name".
	Name string
	// CPU (millicores) and Memory (bytes) are the Pod's requests (api.PodRequests).
	CPU, Memory int64
	// Ports are the host ports the Pod takes.
	Ports []HostPort
	// Owner is the Pod's api.AnnotationOwner, "" when it has none.
	Owner string
	// NodeAffinity is the Pod's required node affinity; nil when it has none.
	NodeAffinity *api.NodeSelector
	// AntiAffinity are the Pod's required anti-affinity terms (all by node, as validated).
	AntiAffinity []api.PodAffinityTerm
	// Spread is the state of each topology spread constraint, prepared by the Cluster before
	// each placement (nil when the Pod has none).
	Spread []SpreadState
}

// NewPodInfo parses pod; pod must not change while the PodInfo is in use.
func NewPodInfo(pod *api.Pod) *PodInfo {
	cpu, mem := api.PodRequests(&pod.Spec)
	pi := &PodInfo{Pod: pod, Name: podName(pod), CPU: cpu, Memory: mem, Ports: podHostPorts(&pod.Spec),
		Owner: pod.Metadata.Annotations[api.AnnotationOwner]}
	if a := pod.Spec.Affinity; a != nil {
		if na := a.NodeAffinity; na != nil {
			pi.NodeAffinity = na.RequiredDuringSchedulingIgnoredDuringExecution
		}
		if pa := a.PodAntiAffinity; pa != nil {
			pi.AntiAffinity = pa.RequiredDuringSchedulingIgnoredDuringExecution
		}
	}
	return pi
}

// selects reports whether term of a Pod in namespace ns selects other: anti-affinity applies
// within the Pod's own namespace, as Kubernetes' does by default.
func selects(ns string, term *api.PodAffinityTerm, other *api.Pod) bool {
	return other.Metadata.Namespace == ns && term.LabelSelector.Matches(other.Metadata.Labels)
}
