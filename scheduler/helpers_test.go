package scheduler

import (
	"github.com/gitfleet/gitfleet/api"
)

// testNode is a ready node with cpu and memory capacity and labels in "k", "v" pairs.
func testNode(name, cpu, mem string, labels ...string) *api.Node {
	n := &api.Node{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindNode},
		Metadata: api.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status: api.NodeStatus{
			Capacity: api.ResourceList{api.ResourceCPU: cpu, api.ResourceMemory: mem},
			Ready:    true,
		},
	}
	for i := 0; i+1 < len(labels); i += 2 {
		n.Metadata.Labels[labels[i]] = labels[i+1]
	}
	return n
}

// podOption changes a test Pod.
type podOption func(*api.Pod)

// testPod is a Pod of one container in namespace default.
func testPod(name string, opts ...podOption) *api.Pod {
	p := &api.Pod{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: api.ObjectMeta{Name: name, Namespace: "default"},
		Spec:     api.PodSpec{Containers: []api.Container{{Name: "main", Image: "busybox"}}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func requests(cpu, mem string) podOption {
	return func(p *api.Pod) {
		r := api.ResourceList{}
		if cpu != "" {
			r[api.ResourceCPU] = cpu
		}
		if mem != "" {
			r[api.ResourceMemory] = mem
		}
		p.Spec.Containers[0].Resources.Requests = r
	}
}

func limits(cpu, mem string) podOption {
	return func(p *api.Pod) {
		p.Spec.Containers[0].Resources.Limits = api.ResourceList{api.ResourceCPU: cpu, api.ResourceMemory: mem}
	}
}

func owner(o string) podOption {
	return func(p *api.Pod) { p.Metadata.Annotations = map[string]string{api.AnnotationOwner: o} }
}

func selector(kv ...string) podOption {
	return func(p *api.Pod) {
		p.Spec.NodeSelector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}

func hostPort(port int32, protocol string) podOption {
	return func(p *api.Pod) {
		c := &p.Spec.Containers[0]
		c.Ports = append(c.Ports, api.ContainerPort{ContainerPort: 8080, HostPort: port, Protocol: protocol})
	}
}

func boundTo(node string) podOption { return func(p *api.Pod) { p.Spec.NodeName = node } }

// notReady marks a test node not ready.
func notReady(n *api.Node) *api.Node {
	n.Status.Ready = false
	return n
}
