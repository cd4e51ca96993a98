package probe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Check runs one check of a probe and returns nil when it passed; it ends by ctx, which
// carries the probe's timeout.
type Check func(ctx context.Context) error

// Probe is one probe of a container: its kind, its timing and its check.
type Probe struct {
	Kind   Kind
	Timing Timing
	Check  Check
}

// Health is what a container instance's probes found. The zero Health is that of a container
// none of whose probes passed yet.
type Health struct {
	// Started: the startup probe passed, or there is none.
	Started bool
	// Ready: the readiness probe passes; meaningful only for a container that has one.
	Ready bool
	// Kill says why the container must be killed (its liveness or startup probe failed);
	// "" while it need not.
	Kill string
	// Message says why the readiness probe last failed; "" once it passes.
	Message string
}

// Container runs the probes of one container instance, each on a goroutine of its own so that
// a slow check of one never delays another, until its context ends or a liveness or startup
// probe fails. The liveness and readiness probes wait for the startup probe to pass.
type Container struct {
	log     *slog.Logger
	changed func()
	// started is closed when the startup probe passes (at once when there is none).
	started chan struct{}

	mu     sync.Mutex
	health Health
	wg     sync.WaitGroup
}

// Start runs probes for a container instance that started at start, until ctx ends; changed
// is called after each change of the Health, from the probe's goroutine.
func Start(ctx context.Context, log *slog.Logger, probes []Probe, start time.Time, changed func()) *Container {
	c := &Container{log: log, changed: changed, started: make(chan struct{})}
	hasStartup := false
	for _, p := range probes {
		hasStartup = hasStartup || p.Kind == Startup
	}
	if !hasStartup {
		c.health.Started = true
		close(c.started)
	}
	for _, p := range probes {
		m := NewMachine(p.Kind, p.Timing, start)
		c.wg.Go(func() { c.run(ctx, p, m) })
	}
	return c
}

// Health returns what the probes found so far.
func (c *Container) Health() Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health
}

// Wait waits for the probes' goroutines, which end with the context Start was given.
func (c *Container) Wait() { c.wg.Wait() }

// run checks p whenever m says it is due, until ctx ends or m is done.
func (c *Container) run(ctx context.Context, p Probe, m *Machine) {
	if p.Kind != Startup {
		select {
		case <-c.started:
		case <-ctx.Done():
			return
		}
	}
	for !m.Done() {
		if !sleepUntil(ctx, m.Next()) {
			return
		}
		at := time.Now()
		err := check(ctx, p)
		if ctx.Err() != nil {
			return
		}
		changed := m.Record(err == nil, at)
		// a readiness probe starts failed: its first failure only adds why
		if changed || (p.Kind == Readiness && m.Result() == Failure && c.Health().Message == "") {
			c.update(p.Kind, m.Result(), err)
		}
	}
}

// check runs p's check within its timeout; a check that outlives it fails.
func check(ctx context.Context, p Probe) error {
	ctx, cancel := context.WithTimeout(ctx, p.Timing.Timeout)
	defer cancel()
	err := p.Check(ctx)
	if err == nil && ctx.Err() != nil {
		return fmt.Errorf("timed out after %s", p.Timing.Timeout)
	}
	return err
}

// update records a probe's new result and calls changed.
func (c *Container) update(kind Kind, r Result, err error) {
	c.log.Info("probe result changed", "probe", kind.String(), "result", r.String(), "err", err)
	c.mu.Lock()
	switch {
	case kind == Startup && r == Success:
		c.health.Started = true
		close(c.started)
	case kind == Readiness:
		c.health.Ready, c.health.Message = r == Success, ""
		if r == Failure {
			c.health.Message = fmt.Sprintf("readiness probe failed: %v", err)
		}
	case r == Failure: // liveness or startup
		c.health.Kill = fmt.Sprintf("%s probe failed: %v", kind, err)
	}
	c.mu.Unlock()
	c.changed()
}

// sleepUntil waits until t and reports whether ctx is still live.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
