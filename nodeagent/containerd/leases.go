package containerd

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/errdefs"
)

// labelCreateOf marks the lease of a container's creation with the node whose agent took it.
const labelCreateOf = "gitfleet.io/create-of"

// DropCreateLeases deletes the leases of container creations this node's agent took and never
// ended (the agent was killed during them), and returns how many. What they held, a snapshot
// with no container, is then collected by containerd now rather than after leaseExpiry. Only
// the agent that owns the data dir may call it, at its start, before it creates anything: a
// create under way holds such a lease too.
func (c *Runtime) DropCreateLeases(ctx context.Context) (int, error) {
	ctx = c.ns(ctx)
	svc := c.client.LeasesService()
	ls, err := svc.List(ctx, fmt.Sprintf("labels.%q==%q", labelCreateOf, c.cfg.NodeName))
	if err != nil {
		return 0, fmt.Errorf("list create leases: %w", err)
	}
	var errs []error
	for _, l := range ls {
		if err := svc.Delete(ctx, l); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete lease %s: %w", l.ID, err))
		}
	}
	if len(ls) > 0 {
		c.log.Info("deleted the leases of creates a killed agent cut short", "leases", len(ls))
	}
	return len(ls), errors.Join(errs...)
}

// createLease is the lease a container's creation holds its snapshot and content by until the
// container exists: it expires after leaseExpiry should the agent be killed before ending it,
// and carries the node for DropCreateLeases.
func (c *Runtime) createLease(ctx context.Context) (context.Context, func(context.Context) error, error) {
	return c.client.WithLease(ctx, leases.WithRandomID(), leases.WithExpiration(leaseExpiry),
		leases.WithLabels(map[string]string{labelCreateOf: c.cfg.NodeName}))
}
