package nodeagent

import (
	"fmt"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// initPolicy is the restart policy an init container runs under: a sidecar always restarts; a
// regular one is run again after a failure unless the Pod's policy is Never, never after it
// succeeded.
func initPolicy(c api.Container, podPolicy string) string {
	switch {
	case c.IsSidecar():
		return api.RestartAlways
	case podPolicy == api.RestartNever:
		return api.RestartNever
	}
	return api.RestartOnFailure
}

// initStatuses returns the statuses of the Pod's init containers in sb (nil in sb: none
// created yet) and, while they have not all finished, the Pod's phase and reason: Pending with
// Init:N/M or Init:CrashLoopBackOff, or Failed with Init:Error (or Init:OOMKilled) for a failed
// one not run again. done is false while they have not all finished.
func initStatuses(pod *api.Pod, sb Sandbox) (statuses []api.ContainerStatus, phase, reason string, done bool) {
	finished := 0
	for _, c := range pod.Spec.InitContainers {
		cs := containerStatus(c, sb, initPolicy(c, pod.Spec.Restart()))
		switch {
		case c.IsSidecar() && cs.State == stateRunning:
			finished++
		case !c.IsSidecar() && cs.State == stateTerminated && cs.ExitCode == 0:
			cs.Ready = true // as the kubelet marks an init container that completed
			finished++
		case phase != "":
		case cs.State == stateTerminated && !shouldRestart(initPolicy(c, pod.Spec.Restart()), cs.ExitCode): // failed for good
			phase, reason = api.PodFailed, api.ReasonInitPrefix+cs.Reason
		case cs.Reason == api.ReasonCrashLoopBackOff:
			phase, reason = api.PodPending, api.ReasonInitPrefix+api.ReasonCrashLoopBackOff
		}
		statuses = append(statuses, cs)
	}
	if finished == len(pod.Spec.InitContainers) {
		return statuses, "", "", true
	}
	if phase == "" {
		phase, reason = api.PodPending, fmt.Sprintf("%s%d/%d", api.ReasonInitPrefix, finished, len(pod.Spec.InitContainers))
	}
	return statuses, phase, reason, false
}

// initializing marks the statuses of app containers not created yet as waiting for the init
// containers, as Kubernetes does.
func initializing(statuses []api.ContainerStatus) {
	for i := range statuses {
		if statuses[i].State == stateWaiting && statuses[i].Message == "not created" {
			statuses[i].Reason, statuses[i].Message = api.ReasonPodInitializing, ""
		}
	}
}

// initMessage lists what the init containers' statuses say, "name: message" each.
func initMessage(statuses []api.ContainerStatus) string {
	var notes []string
	for _, cs := range statuses {
		if cs.Message != "" {
			notes = append(notes, "init container "+cs.Name+": "+cs.Message)
		}
	}
	return strings.Join(notes, "; ")
}

// initWait is the step of a Pod whose app containers are not all created while one of its
// init containers failed: wait, when its restart policy says not to run it again or its
// back-off has not passed (wait is true), or else create, which runs it again.
func initWait(key api.PodKey, pod *api.Pod, sb Sandbox, now time.Time) (Step, bool) {
	for _, c := range pod.Spec.InitContainers {
		obs, ok := sb.Container(c.Name)
		if c.IsSidecar() || !ok || obs.State != StateExited || obs.ExitCode == 0 {
			continue
		}
		st := Step{Action: ActionKeep, Key: key, Container: c.Name}
		planExited(&st, initPolicy(c, pod.Spec.Restart()), obs, now)
		st.Reason = "init container " + st.Reason
		return st, st.Action == ActionKeep
	}
	return Step{}, false
}

// planInitContainer is the step of an init container of a Pod whose app containers exist: a
// sidecar is kept running as under restartPolicy Always; a regular one, done, is left alone.
func planInitContainer(key api.PodKey, c api.Container, obs ContainerState, now time.Time) Step {
	if c.IsSidecar() {
		return planContainer(key, api.RestartAlways, obs, now)
	}
	return Step{Action: ActionKeep, Key: key, Container: c.Name, Reason: "init container, " + obs.State.String()}
}

// initContainer returns the Pod's init container of that name.
func initContainer(pod *api.Pod, name string) (api.Container, bool) {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return c, true
		}
	}
	return api.Container{}, false
}

// initExited reports whether one of the Pod's init containers failed and has not run since:
// then the Pod's failed operation is that exit.
func initExited(st api.PodStatus) bool {
	for _, cs := range st.InitContainerStatuses {
		if cs.Reason == api.ReasonCrashLoopBackOff || (cs.State == stateTerminated && cs.ExitCode != 0) {
			return true
		}
	}
	return false
}
