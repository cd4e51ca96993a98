package api

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Service gives a stable virtual address, and later a DNS name, to the Pods its selector
// matches (v1). Types ClusterIP and NodePort are supported.
type Service struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta  `json:"metadata"`
	Spec     ServiceSpec `json:"spec"`
}

// Service types.
const (
	ServiceTypeClusterIP = "ClusterIP"
	ServiceTypeNodePort  = "NodePort"
)

// ClusterIPNone makes a Service headless: no virtual IP, its name resolves to its Pods.
const ClusterIPNone = "None"

// DefaultServiceCIDR is the range virtual IPs are allocated from unless configured otherwise.
const DefaultServiceCIDR = "10.96.0.0/16"

// The range a NodePort is taken from, as in Kubernetes.
const (
	MinNodePort = 30000
	MaxNodePort = 32767
)

// ServiceSpec is the desired state of a Service.
type ServiceSpec struct {
	// Type is ClusterIP (the default) or NodePort.
	Type     string            `json:"type,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
	Ports    []ServicePort     `json:"ports,omitempty"`
	// ClusterIP is an IPv4 address in the service CIDR, "None" for a headless Service, or ""
	// for one the services controller allocates.
	ClusterIP string `json:"clusterIP,omitempty"`
}

// ServicePort is one port a Service serves.
type ServicePort struct {
	// Name is required, and unique, when the Service has more than one port.
	Name     string `json:"name,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	Port     int32  `json:"port"`
	// TargetPort is the Pods' port: a number, or the name of a container port. It defaults to
	// Port.
	TargetPort IntOrString `json:"targetPort,omitzero"`
	// NodePort is the port every node serves the Service on (type NodePort); 0 lets the
	// services controller allocate one.
	NodePort int32 `json:"nodePort,omitempty"`
}

// GetTypeMeta implements Object.
func (s *Service) GetTypeMeta() TypeMeta { return s.TypeMeta }

// GetMeta implements Object.
func (s *Service) GetMeta() *ObjectMeta { return &s.Metadata }

// ServiceType is s's type, defaulted.
func (s *ServiceSpec) ServiceType() string {
	if s.Type == "" {
		return ServiceTypeClusterIP
	}
	return s.Type
}

func defaultService(s *Service) {
	defaultMeta(&s.Metadata)
	s.Spec.Type = s.Spec.ServiceType()
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = ProtocolTCP
		}
		if p.TargetPort.IsZero() {
			p.TargetPort = FromInt(p.Port)
		}
	}
}

// IntOrString is a value a manifest may write as an integer or a string, as Kubernetes'
// intstr.IntOrString: a Service's targetPort is 8080 or "http".
type IntOrString struct {
	// IsString tells which of IntVal and StrVal holds the value.
	IsString bool
	IntVal   int32
	StrVal   string
}

// FromInt returns an IntOrString holding i.
func FromInt(i int32) IntOrString { return IntOrString{IntVal: i} }

// FromString returns an IntOrString holding s.
func FromString(s string) IntOrString { return IntOrString{IsString: true, StrVal: s} }

// IntOrString marks the type for the strict decoder, which then accepts both forms.
func (IntOrString) IntOrString() {}

// IsZero reports whether v is unset: the integer 0.
func (v IntOrString) IsZero() bool { return !v.IsString && v.IntVal == 0 }

// String renders the value as written: "8080" or "http".
func (v IntOrString) String() string {
	if v.IsString {
		return v.StrVal
	}
	return strconv.Itoa(int(v.IntVal))
}

// MarshalJSON writes a number or a string.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return json.Marshal(v.StrVal)
	}
	return json.Marshal(v.IntVal)
}

// UnmarshalJSON reads a number or a string.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.IsString, v.IntVal = true, 0
		return json.Unmarshal(b, &v.StrVal)
	}
	v.IsString, v.StrVal = false, ""
	if err := json.Unmarshal(b, &v.IntVal); err != nil {
		return fmt.Errorf("decode int or string: %w", err)
	}
	return nil
}

// ServiceStatus is what the services controller allocated to a Service, kept apart from the
// desired object that the sync controller writes from git.
type ServiceStatus struct {
	// ClusterIP is the Service's virtual IP: the manifest's, or one allocated from the service
	// CIDR; "None" for a headless Service.
	ClusterIP string `json:"clusterIP,omitempty"`
	// NodePorts are the node ports of a NodePort Service, one per port of its spec.
	NodePorts []ServiceNodePort `json:"nodePorts,omitempty"`
	// Error says why the Service lacks what it asked for (an address taken by another Service,
	// outside the service CIDR, or none left); "" when it has everything.
	Error string `json:"error,omitempty"`
}

// ServiceNodePort is the node port given to one port of a Service.
type ServiceNodePort struct {
	Name     string `json:"name,omitempty"`
	Port     int32  `json:"port"`
	Protocol string `json:"protocol"`
	NodePort int32  `json:"nodePort"`
}
