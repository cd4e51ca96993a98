package nodeagent

import (
	"fmt"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// EventRecorder records events about objects; *events.Recorder is one.
type EventRecorder interface {
	Event(obj api.Key, typ, reason, message string)
}

// Metrics counts the agent's work; *metrics.Metrics is one.
type Metrics interface {
	// AgentOperation observes a runtime operation ("create", "start", "stop") that took d.
	AgentOperation(op string, d time.Duration)
}

// operation names a step's runtime operation for Metrics; "" for a step that makes none.
func operation(a Action) string {
	switch a {
	case ActionCreate:
		return "create"
	case ActionStart, ActionRestart:
		return "start"
	case ActionRemove, ActionKill:
		return "stop"
	}
	return ""
}

// stepDone counts step s, which took d, and records what it did to its Pod.
func (a *Agent) stepDone(s Step, d time.Duration) {
	if op := operation(s.Action); op != "" && a.opts.Metrics != nil {
		a.opts.Metrics.AgentOperation(op, d)
	}
	var reason, msg string
	typ := api.EventNormal
	switch s.Action {
	case ActionCreate:
		reason, msg = api.ReasonStarted, "Started the Pod's containers on "+a.opts.Node.Name
	case ActionStart:
		reason, msg = api.ReasonStarted, "Started container "+s.Container
	case ActionRestart:
		reason, msg = api.ReasonRestarted, fmt.Sprintf("Restarted container %s: it %s", s.Container, s.Reason)
	case ActionKill:
		typ, reason, msg = api.EventWarning, api.ReasonKilling, fmt.Sprintf("Killing container %s: %s", s.Container, s.Reason)
	default:
		return
	}
	a.event(s.Key, typ, reason, msg)
}

func (a *Agent) event(key api.PodKey, typ, reason, msg string) {
	if a.opts.Events != nil {
		a.opts.Events.Event(api.Key{Kind: api.KindPod, Namespace: key.Namespace, Name: key.Name}, typ, reason, msg)
	}
}

// statusEvent is an event a status change tells.
type statusEvent struct{ reason, message string }

// statusEvents are the events of a Pod's status turning from prev (nil: none reported yet)
// to cur: a container killed for memory (OOMKilled), a container backing off its restarts
// (BackOff); each once per occurrence, as restart counts and reasons change.
func statusEvents(prev *api.PodStatus, cur api.PodStatus) []statusEvent {
	var out []statusEvent
	for _, c := range cur.ContainerStatuses {
		var was api.ContainerStatus
		if prev != nil {
			for _, p := range prev.ContainerStatuses {
				if p.Name == c.Name {
					was = p
				}
			}
		}
		oom := c.Reason == api.ReasonOOMKilled || c.LastReason == api.ReasonOOMKilled
		wasOOM := was.Reason == api.ReasonOOMKilled || was.LastReason == api.ReasonOOMKilled
		if oom && (!wasOOM || c.RestartCount != was.RestartCount) {
			out = append(out, statusEvent{api.ReasonOOMKilled, fmt.Sprintf("Container %s was killed for memory (restarts: %d)", c.Name, c.RestartCount)})
		}
		if c.Reason == api.ReasonCrashLoopBackOff && (was.Reason != api.ReasonCrashLoopBackOff || c.RestartCount != was.RestartCount) {
			out = append(out, statusEvent{api.ReasonBackOff, fmt.Sprintf("Back-off restarting failed container %s (last exit code %d)", c.Name, c.LastExitCode)})
		}
	}
	return out
}

// statusChanged records the events of the status of key turning to cur.
func (a *Agent) statusChanged(key api.PodKey, cur api.PodStatus) {
	if a.opts.Events == nil {
		return
	}
	var prev *api.PodStatus
	if r, ok := a.reported[key]; ok {
		prev = &r.st
	}
	for _, e := range statusEvents(prev, cur) {
		a.event(key, api.EventWarning, e.reason, e.message)
	}
}
