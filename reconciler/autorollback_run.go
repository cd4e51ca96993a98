package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// CheckRollout carries out the automatic rollback's decision (DecideRollback) about the latest
// health record: it marks the history entry of a commit that became Healthy, pins the last
// healthy commit when a Deployment that rolls back on failure missed its progress deadline (the
// pin's pass applies it, as after gitfleet rollback), or records in the status why it did not.
// Run calls it whenever the health record changes. Its writes are the controller's, fenced
// like the others. Before the first successful SyncOnce it does nothing.
func (c *Controller) CheckRollout(ctx context.Context) (api.SyncStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen.commit == "" {
		return api.SyncStatus{}, nil
	}
	in, ok, err := c.rollbackInput(ctx)
	if err != nil || !ok {
		return in.Status, err
	}
	d := DecideRollback(in)
	log := c.log.With("commit", api.ShortHash(in.Status.AppliedCommit))
	switch d.Action {
	case RollbackMarkHealthy:
		if err := c.st.MarkHealthy(ctx, c.opts.Name, d.EntryID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return in.Status, fmt.Errorf("mark %s healthy: %w", api.ShortHash(in.Status.AppliedCommit), err)
		}
		c.healthy = in.Status.AppliedCommit
		log.Info("commit healthy: a rollback may return to it")
	case RollbackPin:
		pin := api.Pin{Commit: d.Note.Target, From: d.Note.Commit, Reason: d.Note.Reason,
			Time: c.opts.Now().UTC().Format(time.RFC3339)}
		if err := c.st.SetPin(ctx, c.opts.Name, pin, 0); err != nil {
			return in.Status, fmt.Errorf("roll back to %s: %w", api.ShortHash(pin.Commit), err)
		}
		log.Warn("rollout failed: rolling back", "to", api.ShortHash(pin.Commit), "reason", pin.Reason)
	case RollbackRefuse:
		st := in.Status
		st.AutoRollback = &d.Note
		if _, err := c.st.CommitSync(ctx, store.SyncRecord{Status: st, HistoryLimit: c.opts.HistoryLimit}); err != nil {
			return in.Status, fmt.Errorf("record the automatic rollback's decision: %w", err)
		}
		log.Warn("rollout failed: no rollback", "reason", d.Note.Reason, "why", d.Note.Message)
		return st, nil
	}
	return in.Status, nil
}

// rollbackInput reads what DecideRollback judges; false when the health record asks for
// nothing (about another commit, or neither Healthy nor a missed deadline), which saves reading
// the history on every progress of a rollout.
func (c *Controller) rollbackInput(ctx context.Context) (RollbackInput, bool, error) {
	h, err := c.st.GetHealth(ctx, c.opts.Name)
	if errors.Is(err, store.ErrNotFound) {
		return RollbackInput{}, false, nil
	}
	if err != nil {
		return RollbackInput{}, false, fmt.Errorf("check rollout: %w", err)
	}
	st, err := c.readStatus(ctx)
	if err != nil {
		return RollbackInput{}, false, err
	}
	in := RollbackInput{Status: st, Health: h}
	objects, known := c.objectsOf(st.AppliedCommit)
	switch {
	case !known || h.AppliedCommit != st.AppliedCommit:
		return in, false, nil
	case h.Health == api.HealthHealthy && c.healthy == h.AppliedCommit:
		return in, false, nil
	case h.Health != api.HealthHealthy && !missedDeadline(h):
		return in, false, nil
	}
	ctl, err := c.st.GetControl(ctx, c.opts.Name)
	if err != nil {
		return in, false, fmt.Errorf("check rollout: %w", err)
	}
	if in.History, err = c.st.ListHistory(ctx, c.opts.Name); err != nil {
		return in, false, fmt.Errorf("check rollout: %w", err)
	}
	in.Pin, in.RollsBack = ctl.Pin, rollingBack(objects, c.opts.AutoRollback)
	return in, true, nil
}

// objectsOf returns the objects of commit when it is the one last applied or read.
func (c *Controller) objectsOf(commit string) ([]api.Object, bool) {
	switch commit {
	case "":
		return nil, false
	case c.want.commit:
		return c.want.objects, true
	case c.seen.commit:
		return c.seen.objects, len(c.seen.errs) == 0
	}
	return nil, false
}

// missedDeadline reports whether a rollout of h missed its progress deadline.
func missedDeadline(h api.HealthStatus) bool {
	for _, o := range h.Objects {
		if o.Rollout != nil && o.Rollout.State == api.RolloutDeadlineExceeded {
			return true
		}
	}
	return false
}

// resume removes an automatic rollback's pin once the branch moved past the commit it
// replaced: the next push resumes by itself (a pin set by hand waits for sync --resume). A user
// who changed the pin meanwhile wins: the pass fails and the next one reads their pin.
func (c *Controller) resume(ctx context.Context, log *slog.Logger) error {
	if !c.pin.Automatic() || c.head == c.pin.From {
		return nil
	}
	if err := c.st.RemovePin(ctx, c.opts.Name, c.pin.Revision); err != nil {
		return fmt.Errorf("sync %s: resume the branch at %s: %w", c.opts.Name, api.ShortHash(c.head), err)
	}
	log.Info("the branch moved on: resuming after the automatic rollback", "head", api.ShortHash(c.head),
		"pinned", api.ShortHash(c.pin.Commit))
	c.pin, c.resumed = api.Pin{}, c.pin.Commit
	return nil
}
