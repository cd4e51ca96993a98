package health

import (
	"fmt"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// Policy says how long an object may look bad before the controller records it Degraded.
type Policy struct {
	// DegradedGrace is how long an object may look Degraded (a Pod failed, crash-loops or fits
	// on no node) while it is still reported Progressing: a Pod that restarts once on its way
	// up is not an incident. 0 means DefaultDegradedGrace.
	DegradedGrace time.Duration
	// ProgressDeadline is how long an object may stay Progressing or Missing with no change of
	// its ready count before it is Degraded with ReasonProgressDeadline, as a Deployment's
	// progressDeadlineSeconds. 0 means DefaultProgressDeadline.
	ProgressDeadline time.Duration
}

// Defaults of Policy.
const (
	DefaultDegradedGrace    = 20 * time.Second
	DefaultProgressDeadline = 10 * time.Minute
)

// ReasonProgressDeadline starts the message of an object that made no progress in time.
const ReasonProgressDeadline = "ProgressDeadlineExceeded"

// Tracker turns assessments, which see one instant, into recorded health, which has a memory:
// it remembers since when each object has looked as it does and applies the Policy. It holds no
// clock (callers pass now) and is not safe for concurrent use.
type Tracker struct {
	policy Policy
	seen   map[api.Key]observed
}

// observed is how an object last looked: its assessed health and ready count, since when.
type observed struct {
	health string
	ready  int
	since  time.Time
	// rollout is set for a Deployment whose rollout engine applies its progress deadline.
	rollout bool
}

// NewTracker returns a tracker with policy p (zero fields take the defaults).
func NewTracker(p Policy) *Tracker {
	if p.DegradedGrace <= 0 {
		p.DegradedGrace = DefaultDegradedGrace
	}
	if p.ProgressDeadline <= 0 {
		p.ProgressDeadline = DefaultProgressDeadline
	}
	return &Tracker{policy: p, seen: map[api.Key]observed{}}
}

// Settle returns the health to record for the assessed objects at now, each with Since set:
// an object that looks Degraded for less than the grace is Progressing, one that looks
// Progressing or Missing with the same ready count for longer than the deadline is Degraded.
// A Deployment whose rollout is known (Rollout set) has its own deadline, which the rollout
// engine applies: the tracker's does not apply to it, nor the grace once it missed its own.
// Objects no longer assessed are forgotten.
func (t *Tracker) Settle(assessed []api.ObjectStatus, now time.Time) []api.ObjectStatus {
	out := make([]api.ObjectStatus, len(assessed))
	keep := make(map[api.Key]observed, len(assessed))
	for i, o := range assessed {
		ob, ok := t.seen[o.Key]
		if !ok || ob.health != o.Health || ob.ready != o.Ready {
			ob = observed{health: o.Health, ready: o.Ready, since: now, rollout: o.Rollout != nil}
		}
		keep[o.Key] = ob
		out[i] = t.settle(o, ob, now)
	}
	t.seen = keep
	return out
}

// settle applies the policy to one object that has looked as ob says.
func (t *Tracker) settle(o api.ObjectStatus, ob observed, now time.Time) api.ObjectStatus {
	lasted := now.Sub(ob.since)
	missed := o.Rollout != nil && o.Rollout.State == api.RolloutDeadlineExceeded
	switch {
	case o.Health == api.HealthDegraded && lasted < t.policy.DegradedGrace && !missed:
		o.Health = api.HealthProgressing
		o.Message += fmt.Sprintf(" (Degraded if it lasts %s)", t.policy.DegradedGrace)
	case (o.Health == api.HealthProgressing || o.Health == api.HealthMissing) && lasted >= t.policy.ProgressDeadline &&
		o.Rollout == nil:
		o.Health = api.HealthDegraded
		o.Message = fmt.Sprintf("%s: no progress for %s: %s", ReasonProgressDeadline, t.policy.ProgressDeadline, o.Message)
	}
	o.Since = ob.since.UTC().Format(time.RFC3339)
	return o
}

// Next returns the earliest time after now at which Settle would decide differently with no
// new assessment (a grace or deadline ends), so the caller can wake then; false when none.
func (t *Tracker) Next(now time.Time) (time.Time, bool) {
	var next time.Time
	for _, ob := range t.seen {
		var at time.Time
		switch ob.health {
		case api.HealthDegraded:
			at = ob.since.Add(t.policy.DegradedGrace)
		case api.HealthProgressing, api.HealthMissing:
			if ob.rollout {
				continue
			}
			at = ob.since.Add(t.policy.ProgressDeadline)
		default:
			continue
		}
		if at.After(now) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next, !next.IsZero()
}
