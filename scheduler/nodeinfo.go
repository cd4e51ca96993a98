package scheduler

import (
	"fmt"

	"github.com/gitfleet/gitfleet/api"
)

// Protocols of a host port.
const (
	protocolTCP = "TCP"
)

// HostPort is a port a Pod takes on its node's network.
type HostPort struct {
	Protocol string // "TCP" when the manifest leaves it empty
	Port     int32
}

// NodeInfo is a snapshot of one node and the Pods bound to it, with their sums precomputed.
// Schedule only reads it; the loop adds each Pod it binds so that the next decision of the same
// pass sees it.
type NodeInfo struct {
	Node *api.Node
	Pods []*api.Pod
	// CPUCapacity (millicores) and MemoryCapacity (bytes) parse Node.Status.Capacity; a missing
	// entry is 0. CapacityErr says why a present entry did not parse.
	CPUCapacity    int64
	MemoryCapacity int64
	CapacityErr    error
	// RequestedCPU (millicores) and RequestedMemory (bytes) sum the requests of Pods.
	RequestedCPU    int64
	RequestedMemory int64
	// UsedPorts holds the host ports the Pods take.
	UsedPorts map[HostPort]struct{}
	// owners counts Pods per api.AnnotationOwner value.
	owners map[string]int
}

// NewNodeInfo snapshots node with pods, which must be bound to it.
func NewNodeInfo(node *api.Node, pods ...*api.Pod) *NodeInfo {
	n := &NodeInfo{Node: node, UsedPorts: map[HostPort]struct{}{}, owners: map[string]int{}}
	n.CPUCapacity, n.MemoryCapacity, n.CapacityErr = nodeCapacity(node)
	for _, p := range pods {
		n.AddPod(p)
	}
	return n
}

// Name is the node's name.
func (n *NodeInfo) Name() string { return n.Node.Metadata.Name }

// AddPod accounts for pod as running on the node.
func (n *NodeInfo) AddPod(pod *api.Pod) {
	n.Pods = append(n.Pods, pod)
	cpu, mem := api.PodRequests(&pod.Spec)
	n.RequestedCPU += cpu
	n.RequestedMemory += mem
	for _, hp := range podHostPorts(&pod.Spec) {
		n.UsedPorts[hp] = struct{}{}
	}
	if owner := pod.Metadata.Annotations[api.AnnotationOwner]; owner != "" {
		n.owners[owner]++
	}
}

// OwnerCount is the number of the node's Pods whose api.AnnotationOwner is owner.
func (n *NodeInfo) OwnerCount(owner string) int { return n.owners[owner] }

// nodeCapacity parses a node's cpu and memory capacity.
func nodeCapacity(node *api.Node) (cpu, mem int64, err error) {
	if s, ok := node.Status.Capacity[api.ResourceCPU]; ok {
		if cpu, err = api.ParseCPU(s); err != nil {
			return 0, 0, fmt.Errorf("node %s: capacity cpu: %w", node.Metadata.Name, err)
		}
	}
	if s, ok := node.Status.Capacity[api.ResourceMemory]; ok {
		if mem, err = api.ParseMemory(s); err != nil {
			return 0, 0, fmt.Errorf("node %s: capacity memory: %w", node.Metadata.Name, err)
		}
	}
	return cpu, mem, nil
}

// podHostPorts lists the host ports a Pod takes. A host-network Pod takes its container ports.
func podHostPorts(spec *api.PodSpec) []HostPort {
	var out []HostPort
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			port := p.HostPort
			if port == 0 && spec.HostNetwork {
				port = p.ContainerPort
			}
			if port == 0 {
				continue
			}
			proto := p.Protocol
			if proto == "" {
				proto = protocolTCP
			}
			out = append(out, HostPort{Protocol: proto, Port: port})
		}
	}
	return out
}
