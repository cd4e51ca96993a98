package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/store"
)

// Bounds of sync --wait (and the push hook) without --timeout.
const (
	// answerWait bounds the wait for the controller's answer.
	answerWait = time.Minute
	// healthWait bounds a wait that sees no change while no rollout is under way; a rollout
	// gets its progress deadline plus request.ProgressMargin instead.
	healthWait = 2 * time.Minute
	// decisionWait bounds the wait for the automatic rollback's decision and pass after a
	// rollout that rolls back on failure missed its deadline.
	decisionWait = 30 * time.Second
)

// waitSync waits for the controller's answer, reports it and, when it applied, waits for the
// health the workload controller records of the applied commit.
func waitSync(ctx context.Context, s *store.Store, stdout io.Writer, f syncFlags, t request.Ticket) error {
	actx, cancel := ctx, context.CancelFunc(func() {})
	if f.timeout == 0 {
		actx, cancel = context.WithTimeout(ctx, answerWait)
	}
	st, err := request.Wait(actx, s, t)
	cancel()
	if err != nil {
		fmt.Fprintf(stdout, "sync: no answer from the controller in %s (is it running?): %v\n", cmp.Or(f.timeout, answerWait), err)
		return exitCode(1)
	}
	if !reportSync(ctx, s, stdout, st, f.commit) {
		return exitCode(1)
	}
	return waitHealthy(ctx, s, stdout, f.timeout, st)
}

// waitHealthy shows the recorded health of the commit st applied as it changes, until it
// settles (request.Settled): Healthy (nil), Degraded, rolled back or given up on (exit 1).
// Without a timeout it waits as long as the health keeps changing (request.IdleBound).
func waitHealthy(ctx context.Context, s *store.Store, w io.Writer, timeout time.Duration, st api.SyncStatus) error {
	p := newProgress(w, time.Now)
	var bound *request.IdleBound
	if timeout == 0 {
		ctx, bound = request.NewIdleBound(ctx, healthWait)
		defer bound.Stop()
	}
	h, err := request.WaitHealth(ctx, s, syncSource, st.AppliedCommit, func(h api.HealthStatus) bool {
		p.show(h)
		if bound != nil {
			bound.Saw(h)
		}
		return request.Settled(h, st.RollbackOnFailure)
	})
	p.end(h)
	switch {
	case err != nil && timeout > 0:
		fmt.Fprintf(w, "health: timed out after %s: %s\n", timeout, describe(h))
		return exitCode(1)
	case err != nil:
		fmt.Fprintf(w, "health: gave up: %v: %s\n", context.Cause(ctx), describe(h))
		return exitCode(1)
	case h.Health == api.HealthHealthy:
		fmt.Fprintf(w, "health: Healthy (%d/%d pods running)\n", h.Ready, h.Want)
		return nil
	case len(request.RollingBack(h, st.RollbackOnFailure)) > 0:
		return reportAutoRollback(context.WithoutCancel(ctx), s, w, h)
	}
	fmt.Fprintf(w, "health: %s\n", describe(h))
	return exitCode(1)
}

// reportAutoRollback waits for the automatic rollback's decision about h's commit and reports
// it; always exit 1, the commit having failed.
func reportAutoRollback(ctx context.Context, s *store.Store, w io.Writer, h api.HealthStatus) error {
	ctx, cancel := context.WithTimeout(ctx, decisionWait)
	defer cancel()
	st, err := request.WaitRollback(ctx, s, syncSource, h.AppliedCommit)
	n := st.AutoRollback
	switch {
	case err != nil:
		fmt.Fprintf(w, "health: %s\n", describe(h))
		fmt.Fprintf(w, "rollback: no decision from the controller in %s\n", decisionWait)
	case n.Target == "":
		fmt.Fprintf(w, "health: %s\n", describe(h))
		fmt.Fprintf(w, "rollback: %s\n", n.Message)
	case st.AppliedCommit != n.Target:
		fmt.Fprintf(w, "health: rolled back to %s: %s\n", short(n.Target), n.Reason)
		fmt.Fprintf(w, "rollback: %s not applied: %s: %s\n", short(n.Target), st.Sync, st.Message)
	default:
		fmt.Fprintf(w, "health: rolled back to %s: %s\n", short(n.Target), n.Reason)
		fmt.Fprintf(w, "sync: pinned at %s by an automatic rollback; the next push resumes\n", short(n.Target))
	}
	return exitCode(1)
}

// describe renders the aggregate health and the first object that has it.
func describe(h api.HealthStatus) string {
	if h.Health == "" {
		return "unknown (no health recorded for the commit yet)"
	}
	for _, o := range h.Objects {
		if o.Health == h.Health && o.Health != api.HealthHealthy {
			return fmt.Sprintf("%s: %s: %s", h.Health, objectName(o.Key), o.Message)
		}
	}
	return h.Health
}

// objectName is how progress lines name an object: "web", or "ns/web" outside default.
func objectName(k api.Key) string {
	if k.Namespace == api.DefaultNamespace || k.Namespace == "" {
		return k.Name
	}
	return k.Namespace + "/" + k.Name
}

// objectLine is how a progress line shows o; rolling is set for a rollout under way, whose
// lines are printed at most once a second.
func objectLine(o api.ObjectStatus) (text string, rolling bool) {
	name, r := objectName(o.Key), o.Rollout
	switch {
	case r == nil:
	case r.State == api.RolloutProgressing:
		return fmt.Sprintf("%s: %d/%d updated, %d ready", name, r.Updated, r.Want, r.Ready), true
	case r.State == api.RolloutPaused:
		return fmt.Sprintf("%s: Paused: %d/%d updated, %d ready", name, r.Updated, r.Want, r.Ready), false
	case r.State == api.RolloutDeadlineExceeded:
		return fmt.Sprintf("%s: %s: %s: %s", name, api.HealthDegraded, r.State, r.Reason), false
	case o.Health == api.HealthHealthy:
		return name + ": " + api.HealthHealthy, false
	}
	return fmt.Sprintf("%s: %s: %s", name, o.Health, o.Message), false
}

// rolloutEvery is the least time between two prints of rollout progress.
const rolloutEvery = time.Second

// progress prints health as it changes: on a terminal one line updated in place, otherwise a
// line per object whose line changed ("web: Progressing: 1/2 ready", a rollout's
// "web: 40/100 updated, 35 ready"). Objects Healthy from the start are not shown; rollouts
// under way at most once a second.
type progress struct {
	w        io.Writer
	terminal bool
	now      func() time.Time
	// active are the objects shown: not Healthy at some point; seen is the line last printed
	// of each; rolled is when rollout progress was last printed.
	active map[api.Key]bool
	seen   map[api.Key]string
	rolled time.Time
	line   string
}

func newProgress(w io.Writer, now func() time.Time) *progress {
	return &progress{w: w, terminal: isTerminal(w), now: now, active: map[api.Key]bool{}, seen: map[api.Key]string{}}
}

func (p *progress) show(h api.HealthStatus) { p.render(h, false) }

// end prints what the last record changed, rollouts included, and finishes the updating line,
// so what follows starts on a line of its own.
func (p *progress) end(h api.HealthStatus) {
	p.render(h, true)
	if p.terminal && p.line != "" {
		fmt.Fprintln(p.w)
		p.line = ""
	}
}

// render prints the lines of h that changed; a rollout's only when one is due or force.
func (p *progress) render(h api.HealthStatus, force bool) {
	now := p.now()
	due := force || now.Sub(p.rolled) >= rolloutEvery
	var parts []string
	rolled := false
	for _, o := range h.Objects {
		text, rolling := objectLine(o)
		p.active[o.Key] = p.active[o.Key] || o.Health != api.HealthHealthy || rolling
		if !p.active[o.Key] {
			continue
		}
		parts = append(parts, text)
		if p.seen[o.Key] == text || (rolling && !due) {
			continue
		}
		if !p.terminal {
			fmt.Fprintln(p.w, text)
		}
		p.seen[o.Key], rolled = text, rolled || rolling
	}
	if rolled {
		p.rolled = now
	}
	if line := strings.Join(parts, "; "); p.terminal && line != p.line && due {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.line, p.rolled = line, now
	}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
