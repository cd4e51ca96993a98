// Package probe runs a container's liveness, readiness and startup probes, as the kubelet's
// prober does: Machine is the pure state machine of one probe (when to probe next, what its
// results add up to), Container runs the probes of one container instance on goroutines of
// their own, and the checks (exec, httpGet, tcpSocket) are built from the Pod's spec.
package probe
