package reconciler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Run syncs now, then every PollInterval and on each Trigger, until ctx ends; between polls it
// watches the desired keys and reverts drift as soon as one changes. A failed pass is logged and
// retried at the next poll: the last applied state stays in place. Run returns nil when ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	poll := time.NewTicker(c.repo.Config().PollInterval)
	defer poll.Stop()
	c.pass(ctx, c.SyncOnce)
	changes := c.watchDesired(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			c.pass(ctx, c.SyncOnce)
		case <-c.trigger:
			c.pass(ctx, c.SyncOnce)
		case _, ok := <-changes:
			if ok {
				drain(changes)
				c.pass(ctx, c.Resync)
				continue
			}
			changes = nil // lost; the next poll runs a full pass and watches again
		}
		if changes == nil {
			changes = c.watchDesired(ctx)
		}
	}
}

// pass runs one sync under the pass timeout, logging its error and recovering a panic.
func (c *Controller) pass(ctx context.Context, sync func(context.Context) (api.SyncStatus, error)) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.PassTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("sync pass panicked", "panic", fmt.Sprint(r))
		}
	}()
	if _, err := sync(ctx); err != nil && ctx.Err() == nil {
		c.log.Error("sync pass failed", "err", err)
	}
}

// watchDesired watches the desired keys from the current revision; nil when etcd cannot say.
func (c *Controller) watchDesired(ctx context.Context) <-chan store.Change {
	rev, err := c.st.Revision(ctx)
	if err != nil {
		c.log.Warn("watch desired keys", "err", err)
		return nil
	}
	return c.st.Watch(ctx, store.Desired, rev)
}

// drain empties ch of the changes already queued, which one pass covers.
func drain[T any](ch <-chan T) {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// DesiredReader reads the desired objects; *store.Store implements it.
type DesiredReader interface {
	ListDesired(ctx context.Context) (map[api.Key]store.DesiredObject, int64, error)
}

var _ DesiredReader = (*store.Store)(nil)

// Plan returns the change set that files, a whole repository of manifests, would cause against
// the live desired state, writing nothing. When the files are not a valid commit it returns
// their errors instead, as a sync would.
func Plan(ctx context.Context, st DesiredReader, files map[string][]byte) (ChangeSet, []api.FieldError, error) {
	decoded, errs := api.LoadSet(files)
	if len(errs) > 0 {
		return ChangeSet{}, errs, nil
	}
	live, _, err := st.ListDesired(ctx)
	if err != nil {
		return ChangeSet{}, nil, fmt.Errorf("plan: %w", err)
	}
	return Diff(desiredObjects(decoded, ""), live), nil, nil
}

// PlanDir is Plan of the working tree dir, read by LoadDir with the rules of a commit.
func PlanDir(ctx context.Context, st DesiredReader, dir, subPath string) (ChangeSet, []api.FieldError, error) {
	files, err := LoadDir(dir, subPath)
	if fe, ok := fileErrors(err); ok {
		return ChangeSet{}, fe, nil
	}
	if err != nil {
		return ChangeSet{}, nil, err
	}
	return Plan(ctx, st, files)
}

// discardLogger is the logger of callers that pass nil.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
