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
	if k, ok := KindOf(obj); ok && k.Default != nil {
		k.Default(obj)
	}
}

func defaultDeployment(d *Deployment) {
	defaultMeta(&d.Metadata)
	if d.Spec.Replicas == nil {
		n := int32(DefaultReplicas)
		d.Spec.Replicas = &n
	}
	// apps/v1 has no default selector: guessing one from the template would silently adopt
	// Pods when the template's labels change, so Validate requires it instead.
	defaultPodSpec(&d.Spec.Template.Spec)
}

func defaultMeta(m *ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = DefaultNamespace
	}
}

func defaultPodSpec(s *PodSpec) {
	s.RestartPolicy = s.Restart()
	for i := range s.Containers {
		for j := range s.Containers[i].Ports {
			if p := &s.Containers[i].Ports[j]; p.Protocol == "" {
				p.Protocol = ProtocolTCP
			}
		}
	}
}

// DefaultSource is the name of the git source a controller follows unless told otherwise; the
// CLI commands work on it.
const DefaultSource = "default"

// DefaultReplicas is the replica count of a Deployment that sets none.
const DefaultReplicas = 1

// ReplicaCount is d's replicas, defaulted: the one place that reads Spec.Replicas.
func (d *Deployment) ReplicaCount() int {
	if d.Spec.Replicas == nil {
		return DefaultReplicas
	}
	return int(*d.Spec.Replicas)
}

// Restart is s's restart policy, defaulted ("" means Always, as in Kubernetes).
func (s *PodSpec) Restart() string {
	if s.RestartPolicy == "" {
		return RestartAlways
	}
	return s.RestartPolicy
}

// TerminationGrace is the Pod's grace period in seconds, defaulted.
func (s *PodSpec) TerminationGrace() int64 {
	if s.TerminationGracePeriodSeconds == nil {
		return DefaultTerminationGracePeriodSeconds
	}
	return *s.TerminationGracePeriodSeconds
}
