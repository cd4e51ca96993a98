package probe

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// script is a check whose outcome the test sets, counting its calls.
type script struct {
	mu    sync.Mutex
	pass  bool
	delay time.Duration
	calls int
}

func (s *script) check(ctx context.Context) error {
	s.mu.Lock()
	s.calls++
	pass, delay := s.pass, s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !pass {
		return errors.New("scripted failure")
	}
	return nil
}

func (s *script) set(pass bool) {
	s.mu.Lock()
	s.pass = pass
	s.mu.Unlock()
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// TestContainerProbes runs a startup, a liveness and a readiness probe in a bubble of fake
// time: nothing is probed but the startup probe until it passes; readiness follows its check;
// liveness asks for a kill after three failures a period apart; a readiness check that hangs
// past its timeout counts as a failure.
func TestContainerProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		timing := Timing{InitialDelay: 5 * time.Second, Period: 10 * time.Second, Timeout: time.Second, Successes: 1, Failures: 3}
		slow := timing
		slow.Failures = 30
		startup, live, ready := &script{}, &script{pass: true}, &script{}
		var changes atomic.Int32
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c := Start(ctx, slog.New(slog.DiscardHandler), []Probe{
			{Startup, slow, startup.check}, {Liveness, timing, live.check}, {Readiness, timing, ready.check},
		}, time.Now(), func() { changes.Add(1) })

		time.Sleep(26 * time.Second) // startup checked at 5, 15, 25: failing
		synctest.Wait()
		if h := c.Health(); h.Started || h.Ready || h.Kill != "" || startup.count() != 3 || live.count()+ready.count() != 0 {
			t.Fatalf("before startup passes: %+v, checks %d/%d/%d", h, startup.count(), live.count(), ready.count())
		}
		startup.set(true)
		ready.set(true)
		time.Sleep(10 * time.Second) // startup passes at 35; the others run at once (their delay is over)
		synctest.Wait()
		if h := c.Health(); !h.Started || !h.Ready || h.Kill != "" {
			t.Fatalf("after startup passed: %+v", h)
		}
		if startup.count() != 4 || live.count() != 1 || ready.count() != 1 {
			t.Fatalf("checks %d/%d/%d; want startup done after 4, the others checked once", startup.count(), live.count(), ready.count())
		}
		ready.mu.Lock()
		ready.delay = time.Hour // hangs: each check fails at its 1s timeout
		ready.mu.Unlock()
		live.set(false)
		time.Sleep(30 * time.Second) // checks at 45, 55, 65
		synctest.Wait()
		h := c.Health()
		if h.Ready || h.Kill != "liveness probe failed: scripted failure" || h.Message == "" {
			t.Fatalf("after 3 failures: %+v", h)
		}
		if n := changes.Load(); n != 4 { // started, ready, not ready, kill
			t.Fatalf("%d changes reported, want 4", n)
		}
		cancel()
		c.Wait()
	})
}

// TestContainerWithoutStartup checks that a container with no startup probe is started at once,
// that its readiness probe is not ready before its first check passes, says why after its
// first failure, and is ready on its first pass.
func TestContainerWithoutStartup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		timing := Timing{InitialDelay: 3 * time.Second, Period: 10 * time.Second, Timeout: time.Second, Successes: 1, Failures: 3}
		ready := &script{}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		c := Start(ctx, slog.New(slog.DiscardHandler), []Probe{{Readiness, timing, ready.check}}, time.Now(), func() {})
		synctest.Wait()
		if h := c.Health(); !h.Started || h.Ready || h.Message != "" {
			t.Fatalf("before the initial delay: %+v", h)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if h := c.Health(); h.Ready || h.Message != "readiness probe failed: scripted failure" || ready.count() != 1 {
			t.Fatalf("after a first failed check: %+v, %d checks", h, ready.count())
		}
		ready.set(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if h := c.Health(); !h.Ready || h.Message != "" || ready.count() != 2 {
			t.Fatalf("after a passed check: %+v, %d checks", h, ready.count())
		}
		cancel()
		c.Wait()
	})
}
