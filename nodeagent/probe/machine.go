package probe

import (
	"fmt"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// Kind is what a probe decides; the set is closed.
type Kind int

// Kinds of probes.
const (
	// Liveness restarts the container once it fails.
	Liveness Kind = iota
	// Readiness decides whether the container is ready.
	Readiness
	// Startup holds liveness and readiness back until it passes; it restarts the container
	// when it fails.
	Startup
)

// String names the kind as the Pod's spec does.
func (k Kind) String() string {
	switch k {
	case Liveness:
		return "liveness"
	case Readiness:
		return "readiness"
	case Startup:
		return "startup"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Result is what a probe's checks add up to.
type Result int

// Results.
const (
	Unknown Result = iota
	Success
	Failure
)

// String names the result.
func (r Result) String() string {
	switch r {
	case Success:
		return "success"
	case Failure:
		return "failure"
	}
	return "unknown"
}

// Timing is a probe's schedule and thresholds, defaulted.
type Timing struct {
	InitialDelay, Period, Timeout time.Duration
	Successes, Failures           int
}

// TimingOf reads p's timing with Kubernetes' defaults.
func TimingOf(p *api.Probe) Timing {
	return Timing{InitialDelay: p.InitialDelay(), Period: p.Period(), Timeout: p.Timeout(),
		Successes: p.Successes(), Failures: p.Failures()}
}

// Machine is one probe of one container instance. It is pure: time only passes in as
// arguments. As in Kubernetes, a liveness probe starts passed (a container is alive until
// shown otherwise), a readiness probe failed (not ready until shown ready) and a startup probe
// unknown; a result changes after Successes passes or Failures failures in a row.
type Machine struct {
	kind   Kind
	timing Timing
	next   time.Time
	result Result
	// passes and fails count the checks in a row of each outcome.
	passes, fails int
}

// NewMachine returns the machine of a probe of kind for a container started at start: its
// first check is due InitialDelay after.
func NewMachine(kind Kind, t Timing, start time.Time) *Machine {
	m := &Machine{kind: kind, timing: t, next: start.Add(t.InitialDelay)}
	switch kind {
	case Liveness:
		m.result = Success
	case Readiness:
		m.result = Failure
	}
	return m
}

// Next is when the next check is due.
func (m *Machine) Next() time.Time { return m.next }

// Result is what the checks so far add up to.
func (m *Machine) Result() Result { return m.result }

// Done reports whether the probe has decided for the rest of the container's life: a startup
// probe that passed or failed, or a liveness probe that failed (the container is killed).
func (m *Machine) Done() bool {
	switch m.kind {
	case Startup:
		return m.result != Unknown
	case Liveness:
		return m.result == Failure
	}
	return false
}

// Record takes the outcome of the check begun at at, schedules the next one a period after it
// and reports whether the result changed.
func (m *Machine) Record(passed bool, at time.Time) bool {
	m.next = at.Add(m.timing.Period)
	before := m.result
	if passed {
		m.passes, m.fails = m.passes+1, 0
		if m.passes >= m.timing.Successes {
			m.result = Success
		}
	} else {
		m.passes, m.fails = 0, m.fails+1
		if m.fails >= m.timing.Failures {
			m.result = Failure
		}
	}
	return m.result != before
}
