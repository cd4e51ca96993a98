package api

import (
	"maps"
	"slices"
	"strings"
)

// Endpoints is a Service as every node sees it: its addresses, its ports and the Pods behind
// it, written by the endpoints controller (one record per Service, as an EndpointSlice that
// also carries the Service's own addresses), so that a node's proxy and DNS read one resource.
type Endpoints struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// ClusterIP is the Service's virtual IP; "None" for a headless Service; "" while the
	// services controller has not allocated one (nodes then program nothing for it).
	ClusterIP string `json:"clusterIP,omitempty"`
	// Ports are the Service's ports, in the order of its spec.
	Ports []EndpointsPort `json:"ports,omitempty"`
	// Endpoints are the Pods the Service's selector matches that have an IP, sorted by IP.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
}

// EndpointsPort is one port of a Service, with its node port once allocated.
type EndpointsPort struct {
	Name     string `json:"name,omitempty"`
	Protocol string `json:"protocol"`
	Port     int32  `json:"port"`
	// NodePort is the port every node serves it on (type NodePort); 0 for none.
	NodePort int32 `json:"nodePort,omitempty"`
}

// Endpoint is one Pod behind a Service.
type Endpoint struct {
	IP   string `json:"ip"`
	Node string `json:"node,omitempty"`
	// Pod is the Pod's name (its namespace is the Service's): a headless Service's per-Pod name.
	Pod string `json:"pod"`
	// Ready is true when the Pod runs ready on a Ready node: only ready endpoints get traffic
	// and DNS answers.
	Ready bool `json:"ready"`
	// Ports are the Pod's ports for the Service's, index for index with Endpoints.Ports: a
	// named targetPort may be a different number on each Pod. 0 where this Pod has no port of
	// that name: it gets no traffic on that port.
	Ports []int32 `json:"ports"`
}

// ReadyCount is how many endpoints are ready.
func (e *Endpoints) ReadyCount() int {
	n := 0
	for _, ep := range e.Endpoints {
		if ep.Ready {
			n++
		}
	}
	return n
}

// Selects reports whether p is behind s: in s's namespace, matched by s's selector (a Service
// without one selects no Pod: its endpoints are not gitfleet's business) and not finished
// (Succeeded or Failed: it will never serve again). The endpoints controller lists those that
// have an IP; health judges a Service by them.
func (s *Service) Selects(p *Pod) bool {
	if len(s.Spec.Selector) == 0 || p.Metadata.Namespace != s.Metadata.Namespace ||
		p.Status.Phase == PodSucceeded || p.Status.Phase == PodFailed {
		return false
	}
	return HasLabels(p.Metadata.Labels, s.Spec.Selector)
}

// SelectorString renders s's selector as kubectl does: "app=web,tier=front", keys sorted; ""
// for none.
func (s *ServiceSpec) SelectorString() string {
	keys := slices.Sorted(maps.Keys(s.Selector))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s.Selector[k]
	}
	return strings.Join(parts, ",")
}

// NodePortOf is the node port s gives p: that of the same protocol and name (and port, when
// unnamed, as an update may change the number of a named port); 0 when none, as before the
// services controller allocated it.
func (s *ServiceStatus) NodePortOf(p ServicePort) int32 {
	proto := func(v string) string {
		if v == "" {
			return ProtocolTCP
		}
		return v
	}
	for _, np := range s.NodePorts {
		if proto(np.Protocol) == proto(p.Protocol) && np.Name == p.Name && (p.Name != "" || np.Port == p.Port) {
			return np.NodePort
		}
	}
	return 0
}
