package request

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// This file is what a waiter for a commit needs of its rollouts: when the health is settled,
// how long to wait without progress, and the automatic rollback's decision.

// Settled reports whether h is the end of a wait: Healthy, or Degraded with no rollout
// still under way of a Deployment that rolls back on failure (rollsBack, as
// api.SyncStatus.RollbackOnFailure names them): such a Deployment's Pods may fail long before
// its progress deadline, and the rollback comes at the deadline.
func Settled(h api.HealthStatus, rollsBack []string) bool {
	switch h.Health {
	case api.HealthHealthy:
		return true
	case api.HealthDegraded:
		return !slices.ContainsFunc(h.Objects, func(o api.ObjectStatus) bool {
			return o.Rollout != nil && o.Rollout.State == api.RolloutProgressing && slices.Contains(rollsBack, o.Key.Namespace+"/"+o.Key.Name)
		})
	}
	return false
}

// RollingBack returns the Deployments of h whose rollout missed its progress deadline and that
// roll back on failure (rollsBack): the controller decides about them next.
func RollingBack(h api.HealthStatus, rollsBack []string) []api.ObjectStatus {
	var out []api.ObjectStatus
	for _, o := range h.Objects {
		if o.Rollout != nil && o.Rollout.State == api.RolloutDeadlineExceeded && slices.Contains(rollsBack, o.Key.Namespace+"/"+o.Key.Name) {
			out = append(out, o)
		}
	}
	return out
}

// ProgressMargin is added to a progress deadline when waiting for a rollout: the controller
// declares it missed at the deadline, and its record takes a moment.
const ProgressMargin = 30 * time.Second

// IdleLimit is how long a waiter may see no change of h before it gives up: the longest
// progress deadline of the rollouts under way plus ProgressMargin, or base when none is.
func IdleLimit(h api.HealthStatus, base time.Duration) time.Duration {
	limit := time.Duration(0)
	for _, o := range h.Objects {
		if r := o.Rollout; r != nil && r.State == api.RolloutProgressing && r.DeadlineSeconds > 0 {
			limit = max(limit, time.Duration(r.DeadlineSeconds)*time.Second+ProgressMargin)
		}
	}
	if limit == 0 {
		return base
	}
	return limit
}

// WaitRollback waits until the sync status of source records the automatic rollback's
// decision about commit and, when it rolled back, that the pinned commit was applied (or
// failed to be); it returns that status. When ctx ends first it fails, with the last status.
func WaitRollback(ctx context.Context, st Store, source, commit string) (api.SyncStatus, error) {
	var last api.SyncStatus
	done := func(ctx context.Context) (bool, error) {
		s, err := st.GetSync(ctx, source)
		if err != nil {
			return false, nil
		}
		last = s
		n := s.AutoRollback
		if n == nil || n.Commit != commit {
			return false, nil
		}
		return n.Target == "" || s.AppliedCommit == n.Target || s.Sync == api.SyncFailed, nil
	}
	rev, err := st.Revision(ctx)
	if err != nil {
		return last, fmt.Errorf("wait for the rollback decision: %w", err)
	}
	if err := until(ctx, st, store.Sync, rev, done); err != nil {
		return last, fmt.Errorf("wait for the rollback decision about %s: %w", api.ShortHash(commit), err)
	}
	return last, nil
}

// IdleBound ends a context when the health records a waiter sees stop changing for
// IdleLimit: a rollout that progresses is waited for however long it takes, one that stops is
// given up on shortly after the controller would have declared its deadline missed.
type IdleBound struct {
	cancel context.CancelCauseFunc
	base   time.Duration
	timer  *time.Timer
	last   string

	mu    sync.Mutex
	limit time.Duration
}

// NewIdleBound returns ctx bounded by base until Saw says otherwise; Stop releases it.
func NewIdleBound(ctx context.Context, base time.Duration) (context.Context, *IdleBound) {
	ctx, cancel := context.WithCancelCause(ctx)
	b := &IdleBound{cancel: cancel, base: base, limit: base}
	b.timer = time.AfterFunc(base, b.expire)
	return ctx, b
}

func (b *IdleBound) expire() {
	b.mu.Lock()
	limit := b.limit
	b.mu.Unlock()
	b.cancel(fmt.Errorf("no progress for %s", limit))
}

// Saw restarts the bound, with h's IdleLimit, when h differs from the last record seen in
// anything that counts as progress.
func (b *IdleBound) Saw(h api.HealthStatus) {
	sig := progressOf(h)
	if sig == b.last {
		return
	}
	b.last = sig
	b.mu.Lock()
	b.limit = IdleLimit(h, b.base)
	b.mu.Unlock()
	b.timer.Reset(b.limit)
}

// Stop releases the bound and its context.
func (b *IdleBound) Stop() {
	b.timer.Stop()
	b.cancel(nil)
}

// progressOf renders what counts as progress of h: health and the counts of each object and
// rollout.
func progressOf(h api.HealthStatus) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %d/%d", h.Health, h.Ready, h.Want)
	for _, o := range h.Objects {
		fmt.Fprintf(&sb, ";%s %s %d", o.Key, o.Health, o.Ready)
		if r := o.Rollout; r != nil {
			fmt.Fprintf(&sb, " %s %d %d %d %d %d", r.State, r.Replicas, r.Updated, r.Ready, r.Available, r.UpdatedAvailable)
		}
	}
	return sb.String()
}
