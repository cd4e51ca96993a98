package workload

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/health"
	"github.com/gitfleet/gitfleet/store"
)

// recordHealth assesses the desired objects of s against pods (the Pods of this pass, as
// they were before its changes: the next pass sees those) and the Deployments' rollouts, applies the tracker's grace and
// deadline and writes the record when it changed. The record names the commit the sync status
// named at the desired objects' revision, so that a waiter for a sync knows when health is about
// its commit. When etcd no longer keeps that revision (no desired object changed for the
// compaction's retention) the cached sync status stands in: the desired objects have not changed
// since.
func (c *Controller) recordHealth(ctx context.Context, s state, pods []api.Pod, rollouts map[api.Key]api.RolloutStatus) error {
	desired := s.desired
	sync, err := c.st.GetSyncAt(ctx, c.opts.Source, s.rev)
	if errors.Is(err, store.ErrCompacted) && s.sync != nil {
		var ok bool
		if sync, ok = s.sync(); !ok {
			err = store.ErrNotFound
		} else {
			err = nil
		}
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("record health: %w", err)
	}
	now := c.opts.Now()
	objects := c.tracker.Settle(health.Assess(health.Input{Desired: desired, Pods: pods, Hashes: CurrentHashes(desired), Rollouts: rollouts}), now)
	h := api.HealthStatus{Source: c.opts.Source, AppliedCommit: sync.AppliedCommit, Health: health.Aggregate(objects),
		Objects: objects, Pods: api.CountPods(pods), Time: now.UTC().Format(time.RFC3339)}
	for _, o := range objects {
		h.Ready, h.Want = h.Ready+o.Ready, h.Want+o.Want
	}
	if c.recorded != nil && sameHealth(*c.recorded, h) {
		return nil
	}
	if err := c.st.PutHealth(ctx, h); err != nil {
		return fmt.Errorf("record health: %w", err)
	}
	if c.recorded == nil || c.recorded.Health != h.Health {
		c.log.Info("health", "health", h.Health, "commit", api.ShortHash(h.AppliedCommit), "ready", h.Ready, "want", h.Want)
	}
	c.recorded = &h
	return nil
}

// sameHealth compares two records without their time.
func sameHealth(a, b api.HealthStatus) bool {
	a.Time, b.Time = "", ""
	return reflect.DeepEqual(a, b)
}
