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

// recordHealth assesses the desired objects read at rev against pods (the Pods of this pass, as
// they were before its changes: the next pass sees those), applies the tracker's grace and
// deadline and writes the record when it changed. The record names the commit the sync status
// named at rev, so that a waiter for a sync knows when health is about its commit.
func (c *Controller) recordHealth(ctx context.Context, desired map[api.Key]store.DesiredObject, rev int64, pods []api.Pod) error {
	sync, err := c.st.GetSyncAt(ctx, c.opts.Source, rev)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("record health: %w", err)
	}
	now := c.opts.Now()
	objects := c.tracker.Settle(health.Assess(health.Input{Desired: desired, Pods: pods, Hashes: CurrentHashes(desired)}), now)
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
