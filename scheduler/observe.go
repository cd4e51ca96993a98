package scheduler

import (
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// EventRecorder records events about objects; *events.Recorder is one.
type EventRecorder interface {
	Event(obj api.Key, typ, reason, message string)
}

// Metrics counts the scheduler's work; *metrics.Metrics is one.
type Metrics interface {
	// SchedulingPass counts a pass's Pods bound, found to fit nowhere and failed, and its
	// duration.
	SchedulingPass(scheduled, unschedulable, failed int, d time.Duration)
	// ReconcileError counts a failed pass of controller ("scheduler").
	ReconcileError(controller string)
}

// podRef is the involved object of an event about the Pod named namespace/name.
func podRef(name string) api.Key {
	ns, n, _ := strings.Cut(name, "/")
	return api.Key{Kind: api.KindPod, Namespace: ns, Name: n}
}

func (s *Scheduler) event(obj api.Key, typ, reason, message string) {
	if s.opts.Events != nil {
		s.opts.Events.Event(obj, typ, reason, message)
	}
}

// bound records that the Pod name was bound to node.
func (s *Scheduler) bound(name, node string) {
	s.event(podRef(name), api.EventNormal, api.ReasonScheduled, "Successfully assigned "+name+" to "+node)
}

// observePass counts the attempts of a pass begun at start: t's outcomes, less the skipped
// Pods that fit nowhere before and were not tried again.
func (s *Scheduler) observePass(t *tally, skipped int, start time.Time) {
	if s.opts.Metrics == nil {
		return
	}
	s.opts.Metrics.SchedulingPass(t.counts[outcomeBound], t.counts[outcomeUnschedulable]-skipped, len(t.errs), s.opts.Now().Sub(start))
	if len(t.errs) > 0 {
		s.opts.Metrics.ReconcileError("scheduler")
	}
}

// nodesLost records the nodes lost since before, as listed in l.
func (s *Scheduler) nodesLost(before map[string]time.Time, l listing) {
	for node := range s.lost {
		if _, ok := before[node]; ok {
			continue
		}
		msg := "no node of this name is registered, but Pods are bound to it"
		for _, n := range l.nodes {
			if n.Value.Metadata.Name != node {
				continue
			}
			msg = "not Ready"
			if c := n.Value.Status.Condition(api.NodeReady); c != nil && c.Message != "" {
				msg = "not Ready: " + c.Message
			}
		}
		s.event(api.Key{Kind: api.KindNode, Name: node}, api.EventWarning, api.ReasonNodeNotReady, msg)
	}
}
