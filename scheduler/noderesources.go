package scheduler

// NodeResourcesFitName names the NodeResourcesFit filter.
const NodeResourcesFitName = "NodeResourcesFit"

// NodeResourcesFit's reasons.
const (
	ReasonInsufficientCPU    = "Insufficient cpu"
	ReasonInsufficientMemory = "Insufficient memory"
	ReasonInvalidCapacity    = "node(s) had invalid capacity"
)

// NodeResourcesFit rejects nodes whose free cpu or memory (capacity minus the requests of the
// Pods bound there) is less than the Pod requests. A Pod that requests none of a resource fits
// whatever is left of it.
type NodeResourcesFit struct{}

var _ FilterPlugin = NodeResourcesFit{}

// Name implements FilterPlugin.
func (NodeResourcesFit) Name() string { return NodeResourcesFitName }

// Filter implements FilterPlugin.
func (NodeResourcesFit) Filter(pod *PodInfo, n *NodeInfo) *Status {
	if n.CapacityErr != nil {
		return NewStatus(Error, ReasonInvalidCapacity)
	}
	cpu, mem := pod.CPU, pod.Memory
	var reasons []string
	if cpu > 0 && cpu > n.CPUCapacity-n.RequestedCPU {
		reasons = append(reasons, ReasonInsufficientCPU)
	}
	if mem > 0 && mem > n.MemoryCapacity-n.RequestedMemory {
		reasons = append(reasons, ReasonInsufficientMemory)
	}
	if len(reasons) == 0 {
		return nil
	}
	return NewStatus(Unschedulable, reasons...)
}
