package api

// DefaultNamespace is the namespace of an object whose manifest names none.
const DefaultNamespace = "default"

// Protocols a container port may use.
const (
	ProtocolTCP  = "TCP"
	ProtocolUDP  = "UDP"
	ProtocolSCTP = "SCTP"
)

// Default fills the fields a manifest may leave out, as Kubernetes does, so that the stored
// object, the diff and the template hash all see one explicit form. It is idempotent. Nodes and
// Namespaces are left alone: they are cluster-scoped, and Nodes are written whole by their agent.
func Default(obj Object) {
	switch o := obj.(type) {
	case *Deployment:
		defaultMeta(&o.Metadata)
		if o.Spec.Replicas == nil {
			one := int32(1)
			o.Spec.Replicas = &one
		}
		// apps/v1 has no default selector: guessing one from the template would silently adopt
		// Pods when the template's labels change, so Validate requires it instead.
		defaultPodSpec(&o.Spec.Template.Spec)
	case *Pod:
		defaultMeta(&o.Metadata)
		defaultPodSpec(&o.Spec)
	case *ConfigMap:
		defaultMeta(&o.Metadata)
	}
}

func defaultMeta(m *ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = DefaultNamespace
	}
}

func defaultPodSpec(s *PodSpec) {
	if s.RestartPolicy == "" {
		s.RestartPolicy = RestartAlways
	}
	for i := range s.Containers {
		for j := range s.Containers[i].Ports {
			if p := &s.Containers[i].Ports[j]; p.Protocol == "" {
				p.Protocol = ProtocolTCP
			}
		}
	}
}
