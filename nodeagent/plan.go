package nodeagent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// Action is what one Step does; the set is closed.
type Action int

// Actions, in the order Plan emits them for one Pod.
const (
	// ActionKeep leaves things as they are; the Step says why.
	ActionKeep Action = iota
	// ActionRemove stops and deletes a Pod's containers and network.
	ActionRemove
	// ActionCreate makes a Pod's network and missing containers and starts them (EnsurePod).
	ActionCreate
	// ActionStart starts a created container that has no task.
	ActionStart
	// ActionRestart replaces the exited task of a container.
	ActionRestart
	// ActionKill stops a running container whose liveness or startup probe failed, leaving it
	// exited for a restart (ProbeRuntime.KillContainer).
	ActionKill
)

// String names the action.
func (a Action) String() string {
	switch a {
	case ActionKeep:
		return "keep"
	case ActionRemove:
		return "remove"
	case ActionCreate:
		return "create"
	case ActionStart:
		return "start"
	case ActionRestart:
		return "restart"
	case ActionKill:
		return "kill"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Step is one action of the agent's plan, for a Pod or one of its containers, that brings the
// node closer to the wanted Pods. The name keeps the agent's plan apart from the sync
// controller's change set.
type Step struct {
	Action Action
	Key    api.PodKey
	// Container names the container of start, restart, kill and container-level keep; "" for
	// the Pod.
	Container string
	// Pod is the wanted Pod, set for create.
	Pod    *api.Pod
	Reason string
	// RequeueAfter is set on a keep that time alone will turn into a restart (back-off).
	RequeueAfter time.Duration
}

// String renders "action namespace/name[/container]: reason".
func (s Step) String() string {
	out := s.Action.String() + " " + s.Key.String()
	if s.Container != "" {
		out += "/" + s.Container
	}
	return out + ": " + s.Reason
}

// Restart back-off: no wait before the first restart, then 1s doubling up to 5m; a container
// that ran for backoffReset before it exited starts over.
const (
	backoffBase  = time.Second
	backoffMax   = 5 * time.Minute
	backoffReset = 10 * time.Minute
)

// Plan compares the wanted Pods (those bound to this node) with what runs and returns the
// steps to take, grouped by Pod in key order. It is pure: now is the only clock.
func Plan(wanted []*api.Pod, observed []Sandbox, now time.Time) []Step {
	want := map[api.PodKey]*api.Pod{}
	for _, p := range wanted {
		want[api.PodKeyOf(p)] = p
	}
	have := map[api.PodKey][]Sandbox{}
	for _, s := range observed {
		have[s.Key] = append(have[s.Key], s)
	}
	var steps []Step
	for _, key := range unionKeys(want, have) {
		steps = append(steps, planPod(key, want[key], have[key], now)...)
	}
	return steps
}

func unionKeys(want map[api.PodKey]*api.Pod, have map[api.PodKey][]Sandbox) []api.PodKey {
	keys := make([]api.PodKey, 0, len(want)+len(have))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b api.PodKey) int {
		return strings.Compare(a.String(), b.String())
	})
	return keys
}

func planPod(key api.PodKey, pod *api.Pod, have []Sandbox, now time.Time) []Step {
	if pod == nil {
		return []Step{{Action: ActionRemove, Key: key, Reason: "not wanted on this node"}}
	}
	if len(have) == 0 {
		return []Step{{Action: ActionCreate, Key: key, Pod: pod, Reason: "new pod"}}
	}
	if why := replaceReason(pod, have); why != "" {
		return []Step{
			{Action: ActionRemove, Key: key, Reason: why},
			{Action: ActionCreate, Key: key, Pod: pod, Reason: why},
		}
	}
	sb := have[0]
	if missing := missingContainers(pod, sb); len(missing) > 0 {
		if st, wait := initWait(key, pod, sb, now); wait {
			return []Step{st}
		}
		return []Step{{Action: ActionCreate, Key: key, Pod: pod,
			Reason: "missing containers " + strings.Join(missing, ", ")}}
	}
	var steps []Step
	for _, c := range sb.Containers {
		if init, ok := initContainer(pod, c.Name); ok {
			steps = append(steps, planInitContainer(key, init, c, now))
			continue
		}
		steps = append(steps, planContainer(key, pod.Spec.Restart(), c, now))
	}
	return steps
}

// replaceReason says why the Pod's sandbox must be removed and made again, or "" if it need not.
func replaceReason(pod *api.Pod, have []Sandbox) string {
	switch {
	case len(have) > 1:
		return "containers of several specs"
	case have[0].SpecHash != SpecHash(pod):
		if have[0].SpecHash == "" {
			return "half-created pod"
		}
		return "spec changed"
	case have[0].NetworkLost:
		return "pod network lost"
	}
	return ""
}

func missingContainers(pod *api.Pod, sb Sandbox) []string {
	var missing []string
	for _, c := range pod.Spec.Containers {
		if _, ok := sb.Container(c.Name); !ok {
			missing = append(missing, c.Name)
		}
	}
	return missing
}

func planContainer(key api.PodKey, policy string, c ContainerState, now time.Time) Step {
	st := Step{Action: ActionKeep, Key: key, Container: c.Name}
	switch c.State {
	case StateCreated:
		planCreated(&st, c, now)
	case StateRunning:
		st.Reason = "running"
		if c.Health.Kill != "" {
			st.Action, st.Reason = ActionKill, c.Health.Kill
		}
	case StateExited:
		planExited(&st, policy, c, now)
	default:
		st.Reason = "in an unknown state"
	}
	return st
}

// planCreated starts a created container, after a back-off when an earlier start of it failed
// (it was started, yet has no task).
func planCreated(s *Step, c ContainerState, now time.Time) {
	if !c.StartedAt.IsZero() {
		// a failed start backs off as a crash does, counting the failed starts before it
		failing := c
		failing.RestartCount += c.FailedStarts
		if wait := c.StartedAt.Add(backoff(failing)).Sub(now); wait > 0 {
			s.Reason = fmt.Sprintf("start failed, back-off %s", wait.Round(time.Millisecond))
			s.RequeueAfter = wait
			return
		}
	}
	s.Action, s.Reason = ActionStart, "not started"
}

func planExited(s *Step, policy string, c ContainerState, now time.Time) {
	exited := fmt.Sprintf("exited with code %d", c.ExitCode)
	if !shouldRestart(policy, c.ExitCode) {
		s.Reason = exited + ", not restarted under restartPolicy " + policy
		return
	}
	if wait := c.FinishedAt.Add(backoff(c)).Sub(now); wait > 0 {
		s.Reason = fmt.Sprintf("%s, back-off %s", exited, wait.Round(time.Millisecond))
		s.RequeueAfter = wait
		return
	}
	s.Action, s.Reason = ActionRestart, exited
}

// shouldRestart applies a defaulted restart policy (api.PodSpec.Restart) to an exit code.
func shouldRestart(policy string, exitCode int32) bool {
	switch policy {
	case api.RestartAlways:
		return true
	case api.RestartOnFailure:
		return exitCode != 0
	}
	return false
}

// backoff is how long after it exited a container is restarted: nothing the first time, then
// 1s, 2s, 4s ... up to 5m as its restart count grows; a container that ran for 10 minutes
// before exiting starts over.
func backoff(c ContainerState) time.Duration {
	if c.RestartCount == 0 || (!c.StartedAt.IsZero() && c.FinishedAt.Sub(c.StartedAt) >= backoffReset) {
		return 0
	}
	d := backoffBase
	for i := int32(1); i < c.RestartCount && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// Apply takes one step through rt.
func Apply(ctx context.Context, rt Runtime, s Step) error {
	switch s.Action {
	case ActionKeep:
		return nil
	case ActionRemove:
		return rt.RemovePod(ctx, s.Key)
	case ActionCreate:
		if s.Pod == nil {
			return fmt.Errorf("create %s: step carries no pod", s.Key)
		}
		_, err := rt.EnsurePod(ctx, s.Pod)
		return err
	case ActionStart:
		return rt.StartContainer(ctx, s.Key, s.Container)
	case ActionRestart:
		return rt.RestartContainer(ctx, s.Key, s.Container)
	case ActionKill:
		prt, ok := rt.(ProbeRuntime)
		if !ok {
			return fmt.Errorf("kill %s/%s: the runtime cannot kill a container", s.Key, s.Container)
		}
		return prt.KillContainer(ctx, s.Key, s.Container)
	}
	return fmt.Errorf("apply %s: unknown action %d", s.Key, int(s.Action))
}
