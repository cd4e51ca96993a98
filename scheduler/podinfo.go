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
}

// NewPodInfo parses pod; pod must not change while the PodInfo is in use.
func NewPodInfo(pod *api.Pod) *PodInfo {
	cpu, mem := api.PodRequests(&pod.Spec)
	return &PodInfo{Pod: pod, Name: podName(pod), CPU: cpu, Memory: mem, Ports: podHostPorts(&pod.Spec),
		Owner: pod.Metadata.Annotations[api.AnnotationOwner]}
}
