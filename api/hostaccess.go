package api

import "fmt"

// Host access: a Pod that uses the node's network (hostNetwork) or maps a port of the node
// (hostPort) reaches past its own network namespace, which Kubernetes' Pod Security admission
// allows only at its "privileged" level. gitfleet follows it: such a Pod runs only in a
// Namespace labelled LabelPodSecurityEnforce: PodSecurityPrivileged. The default namespace has
// no Namespace object, so it allows host access only when the repository declares one with
// that label.
const (
	LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"
	PodSecurityPrivileged   = "privileged"
)

// HostAccess returns the first use of host access in s: the field path relative to the spec
// and the field's name ("hostNetwork" or "hostPort"); both are "" when s uses none.
func HostAccess(s *PodSpec) (path, field string) {
	if s.HostNetwork {
		return "hostNetwork", "hostNetwork"
	}
	for i, c := range s.Containers {
		for j, p := range c.Ports {
			if p.HostPort != 0 {
				return fmt.Sprintf("containers[%d].ports[%d].hostPort", i, j), "hostPort"
			}
		}
	}
	return "", ""
}

// Privileged reports whether Pods of ns may use host access; a nil ns (no Namespace object)
// may not.
func Privileged(ns *Namespace) bool {
	return ns != nil && ns.Metadata.Labels[LabelPodSecurityEnforce] == PodSecurityPrivileged
}

// HostAccessMessage says why a Pod of namespace ns may not use field.
func HostAccessMessage(field, ns string) string {
	return fmt.Sprintf("%s needs namespace %s labelled %s: %s", field, ns, LabelPodSecurityEnforce, PodSecurityPrivileged)
}
