package scheduler

import (
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/gitfleet/gitfleet/api"
)

// Protocols of a host port.
const (
	protocolTCP = "TCP"
)

// DefaultMaxPods is the Pods a node runs at most when its capacity does not say (kubelet's
// default): past it, the node's Pod range runs out and CNI fails the Pod forever.
const DefaultMaxPods = 110

// HostPort is a port a Pod takes on its node's network.
type HostPort struct {
	Protocol string // "TCP" when the manifest leaves it empty
	Port     int32
}

// NodeInfo is one node and the Pods bound to it, with their sums kept as Pods come and go, so
// that a filter or a score reads a node in O(1). Schedule only reads it; the Cluster adds and
// removes Pods.
type NodeInfo struct {
	// Node is nil while Pods are bound to a name no node has registered.
	Node *api.Node
	// Pods are the Pods bound to the node, by "namespace/name".
	Pods map[string]*PodInfo
	// CPUCapacity (millicores) and MemoryCapacity (bytes) parse Node.Status.Capacity; a missing
	// entry is 0. MaxPods is its "pods" entry, DefaultMaxPods when missing. CapacityErr says why
	// a present entry did not parse.
	CPUCapacity    int64
	MemoryCapacity int64
	MaxPods        int
	CapacityErr    error
	// RequestedCPU (millicores) and RequestedMemory (bytes) sum the requests of Pods.
	RequestedCPU    int64
	RequestedMemory int64
	// UsedPorts counts the Pods that take each host port (more than one only when bound by hand).
	UsedPorts map[HostPort]int
	// owners counts Pods per api.AnnotationOwner value.
	owners map[string]int
	// labels counts Pods per label pair, so that a selector whose pair no Pod has rules the
	// node out without a look at its Pods.
	labels map[labelPair]int
	// antiAffinity holds the Pods with required anti-affinity terms, by name: an incoming Pod
	// they select may not join them.
	antiAffinity map[string]*PodInfo
	// hash of the node's name, for the tie-break (see tieBreak).
	hash uint64
}

// NewNodeInfo returns the NodeInfo of node (nil: not registered) with pods, bound to it.
func NewNodeInfo(node *api.Node, pods ...*api.Pod) *NodeInfo {
	n := &NodeInfo{Pods: map[string]*PodInfo{}, UsedPorts: map[HostPort]int{}, owners: map[string]int{},
		labels: map[labelPair]int{}, antiAffinity: map[string]*PodInfo{}}
	n.SetNode(node)
	for _, p := range pods {
		n.AddPod(NewPodInfo(p))
	}
	return n
}

// SetNode replaces the node, keeping its Pods.
func (n *NodeInfo) SetNode(node *api.Node) {
	n.Node = node
	n.CPUCapacity, n.MemoryCapacity, n.MaxPods, n.CapacityErr = 0, 0, DefaultMaxPods, nil
	if node == nil {
		return
	}
	n.CPUCapacity, n.MemoryCapacity, n.MaxPods, n.CapacityErr = nodeCapacity(node)
	h := fnv.New64a()
	h.Write([]byte(node.Metadata.Name))
	n.hash = h.Sum64()
}

// Name is the node's name.
func (n *NodeInfo) Name() string { return n.Node.Metadata.Name }

// AddPod accounts for pod as running on the node; a Pod of the same name is replaced.
func (n *NodeInfo) AddPod(pod *PodInfo) {
	n.RemovePod(pod.Name)
	n.Pods[pod.Name] = pod
	n.RequestedCPU += pod.CPU
	n.RequestedMemory += pod.Memory
	for _, hp := range pod.Ports {
		n.UsedPorts[hp]++
	}
	if pod.Owner != "" {
		n.owners[pod.Owner]++
	}
	for k, v := range pod.Pod.Metadata.Labels {
		n.labels[labelPair{k, v}]++
	}
	if len(pod.AntiAffinity) > 0 {
		n.antiAffinity[pod.Name] = pod
	}
}

// RemovePod takes the Pod named name ("namespace/name") off the node, if it is there.
func (n *NodeInfo) RemovePod(name string) {
	pod, ok := n.Pods[name]
	if !ok {
		return
	}
	delete(n.Pods, name)
	n.RequestedCPU -= pod.CPU
	n.RequestedMemory -= pod.Memory
	for _, hp := range pod.Ports {
		if n.UsedPorts[hp]--; n.UsedPorts[hp] <= 0 {
			delete(n.UsedPorts, hp)
		}
	}
	if pod.Owner != "" {
		if n.owners[pod.Owner]--; n.owners[pod.Owner] <= 0 {
			delete(n.owners, pod.Owner)
		}
	}
	for k, v := range pod.Pod.Metadata.Labels {
		if n.labels[labelPair{k, v}]--; n.labels[labelPair{k, v}] <= 0 {
			delete(n.labels, labelPair{k, v})
		}
	}
	delete(n.antiAffinity, name)
}

// labelPair is one label of a Pod.
type labelPair struct{ key, value string }

// LabelCount is the number of the node's Pods labelled key=value.
func (n *NodeInfo) LabelCount(key, value string) int { return n.labels[labelPair{key, value}] }

// OwnerCount is the number of the node's Pods whose api.AnnotationOwner is owner.
func (n *NodeInfo) OwnerCount(owner string) int { return n.owners[owner] }

// nodeCapacity parses a node's cpu, memory and pods capacity.
func nodeCapacity(node *api.Node) (cpu, mem int64, pods int, err error) {
	pods = DefaultMaxPods
	c := node.Status.Capacity
	if s, ok := c[api.ResourceCPU]; ok {
		if cpu, err = api.ParseCPU(s); err != nil {
			return 0, 0, 0, fmt.Errorf("node %s: capacity cpu: %w", node.Metadata.Name, err)
		}
	}
	if s, ok := c[api.ResourceMemory]; ok {
		if mem, err = api.ParseMemory(s); err != nil {
			return 0, 0, 0, fmt.Errorf("node %s: capacity memory: %w", node.Metadata.Name, err)
		}
	}
	if s, ok := c[api.ResourcePods]; ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, 0, 0, fmt.Errorf("node %s: capacity pods %q: not a count", node.Metadata.Name, s)
		}
		pods = n
	}
	return cpu, mem, pods, nil
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
