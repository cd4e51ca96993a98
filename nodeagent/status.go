package nodeagent

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent/probe"
)

// Container states in api.ContainerStatus.
const (
	stateWaiting    = "waiting"
	stateRunning    = "running"
	stateTerminated = "terminated"
)

// StatusOf maps what runs for pod to its status: the phase (Pending until every container has
// started; Succeeded or Failed once every container exited for good under the restart policy;
// Running otherwise), readiness (every container running and ready by its probes), restarts,
// the Pod IP and one status per container. It is pure; the caller sets ObservedAt.
func StatusOf(pod *api.Pod, observed []Sandbox) api.PodStatus {
	sb, why := sandboxOf(pod, observed)
	if why != "" {
		return pendingStatus(pod, why)
	}
	st := api.PodStatus{PodIP: sb.PodIP}
	var notes []string
	for _, c := range pod.Spec.Containers {
		cs := containerStatus(c, sb, pod.Spec.Restart())
		st.Restarts += cs.RestartCount
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if cs.Message != "" {
			notes = append(notes, c.Name+": "+cs.Message)
		}
	}
	st.Phase = phaseOf(pod.Spec.Restart(), st.ContainerStatuses)
	st.Ready = st.Phase == api.PodRunning && allReady(st.ContainerStatuses)
	st.Message = strings.Join(notes, "; ")
	if st.Phase == api.PodFailed {
		st.Reason = "Error"
	}
	withInit(&st, pod, sb)
	return st
}

// withInit adds the statuses of the Pod's init containers, their restarts, and while they have
// not all finished the phase and reason they give the Pod.
func withInit(st *api.PodStatus, pod *api.Pod, sb Sandbox) {
	if len(pod.Spec.InitContainers) == 0 {
		return
	}
	statuses, phase, reason, done := initStatuses(pod, sb)
	st.InitContainerStatuses = statuses
	for _, cs := range statuses {
		st.Restarts += cs.RestartCount
	}
	if done {
		return
	}
	st.Phase, st.Reason, st.Ready = phase, reason, false
	initializing(st.ContainerStatuses)
	st.Message = initMessage(statuses)
}

// sandboxOf finds the sandbox running pod's current spec, or says why there is none.
func sandboxOf(pod *api.Pod, observed []Sandbox) (Sandbox, string) {
	key, hash := api.PodKeyOf(pod), SpecHash(pod)
	why := "waiting for the pod's containers to be created"
	for _, sb := range observed {
		switch {
		case sb.Key != key:
		case sb.SpecHash == "":
			why = "recreating a half-created pod"
		case sb.SpecHash != hash:
			why = "replacing containers made from another spec"
		case sb.NetworkLost:
			why = "recreating the pod: its network was lost"
		default:
			return sb, ""
		}
	}
	return Sandbox{}, why
}

func pendingStatus(pod *api.Pod, why string) api.PodStatus {
	st := api.PodStatus{Phase: api.PodPending, Reason: "ContainerCreating", Message: why}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses,
			api.ContainerStatus{Name: c.Name, Image: c.Image, State: stateWaiting, Message: "not created"})
	}
	if len(pod.Spec.InitContainers) > 0 {
		st.InitContainerStatuses, _, st.Reason, _ = initStatuses(pod, Sandbox{})
		initializing(st.ContainerStatuses)
	}
	return st
}

func containerStatus(c api.Container, sb Sandbox, policy string) api.ContainerStatus {
	cs := api.ContainerStatus{Name: c.Name, Image: c.Image, State: stateWaiting}
	obs, ok := sb.Container(c.Name)
	if !ok {
		cs.Message = "not created"
		return cs
	}
	cs.RestartCount, cs.ImageID = obs.RestartCount, obs.ImageID
	switch obs.State {
	case StateCreated:
		cs.Message = "not started"
	case StateRunning:
		cs.State = stateRunning
		cs.Ready, cs.Message = readiness(c, obs.Health)
	case StateExited:
		exitedStatus(&cs, obs, policy)
	default:
		cs.Message = "in an unknown state"
	}
	return cs
}

// readiness is whether a running container is ready, as its probes found, and if not why: a
// container is ready once its startup probe passed and its readiness probe passes (each when it
// has one), and not once its liveness probe failed.
func readiness(c api.Container, h probe.Health) (bool, string) {
	switch {
	case h.Kill != "":
		return false, h.Kill
	case c.StartupProbe != nil && !h.Started:
		return false, "startup probe not passed yet"
	case c.ReadinessProbe != nil && !h.Ready:
		return false, cmp.Or(h.Message, "readiness probe not passed yet")
	}
	return true, ""
}

// exitedStatus is the status of an exited container: terminated, or, once it exited after a
// restart and waits its back-off, waiting in CrashLoopBackOff with its last exit.
func exitedStatus(cs *api.ContainerStatus, c ContainerState, policy string) {
	reason := api.ReasonCompleted
	switch {
	case c.Reason != "": // the runtime knows better: OOMKilled
		reason = c.Reason
	case c.ExitCode != 0:
		reason = api.ReasonError
	}
	restarting := shouldRestart(policy, c.ExitCode)
	cs.Message = exitMessage(c, restarting)
	if c.Message != "" { // the container's termination message
		cs.Message += ": " + c.Message
	}
	if restarting && backoff(c) > 0 {
		cs.Reason, cs.LastExitCode, cs.LastReason = api.ReasonCrashLoopBackOff, c.ExitCode, reason
		cs.Message += fmt.Sprintf(" after a back-off of %s", backoff(c))
		return
	}
	cs.State, cs.ExitCode, cs.Reason = stateTerminated, c.ExitCode, reason
}

func exitMessage(c ContainerState, restarting bool) string {
	m := fmt.Sprintf("exited with code %d", c.ExitCode)
	if !c.FinishedAt.IsZero() {
		m += " at " + c.FinishedAt.UTC().Format(time.RFC3339)
	}
	if restarting {
		m += ", restarting"
	}
	return m
}

// phaseOf derives the Pod phase from its containers' statuses and restart policy.
func phaseOf(policy string, statuses []api.ContainerStatus) string {
	done, failed, started := 0, false, true
	for _, cs := range statuses {
		switch {
		case cs.State == stateTerminated && !shouldRestart(policy, cs.ExitCode):
			done++
			failed = failed || cs.ExitCode != 0
		case cs.State == stateWaiting && cs.Reason != api.ReasonCrashLoopBackOff:
			started = false
		}
	}
	switch {
	case len(statuses) > 0 && done == len(statuses) && failed:
		return api.PodFailed
	case len(statuses) > 0 && done == len(statuses):
		return api.PodSucceeded
	case !started:
		return api.PodPending
	}
	return api.PodRunning
}

func allReady(statuses []api.ContainerStatus) bool {
	for _, cs := range statuses {
		if !cs.Ready {
			return false
		}
	}
	return true
}
