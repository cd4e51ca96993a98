package reconciler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/source"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Run syncs now, then every PollInterval, and as soon as the source's pin or
// sync request key changes (gitfleet rollback, sync, the push hook and the webhook write them);
// between polls it watches the desired keys and reverts drift as soon as one changes, and the
// health record, on which it acts by CheckRollout. A failed pass is logged and retried at the
// next poll: the last applied state stays in place. Run returns nil when ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	poll := time.NewTicker(c.repo.Config().PollInterval)
	defer poll.Stop()
	// Watch first, so that a change made during the first pass wakes the next one.
	changes := c.watchKeys(ctx)
	c.pass(ctx, c.SyncOnce)
	c.pass(ctx, c.CheckRollout)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			c.pass(ctx, c.SyncOnce)
		case ch, ok := <-changes:
			if !ok {
				changes = nil // lost; watch again below
				break
			}
			w := c.drain(changes, c.classify(ch))
			switch {
			case w.sync:
				c.pass(ctx, c.SyncOnce)
			case w.drift:
				c.pass(ctx, c.Resync)
			}
			if w.health {
				c.pass(ctx, c.CheckRollout)
			}
		}
		if changes == nil {
			// A change made while no watch ran (a pin, a request, drift) is seen by no event:
			// pause briefly so a failing watch cannot spin, watch again, then do a full pass.
			backoff.Sleep(ctx, rewatchPause)
			if changes = c.watchKeys(ctx); changes != nil {
				c.pass(ctx, c.SyncOnce)
				c.pass(ctx, c.CheckRollout)
			}
		}
	}
}

// rewatchPause is the wait before watching again after a watch was lost.
const rewatchPause = 200 * time.Millisecond

// pass runs one sync under the pass timeout, logging its error and recovering a panic.
func (c *Controller) pass(ctx context.Context, sync func(context.Context) (api.SyncStatus, error)) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.PassTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("sync pass panicked", "panic", fmt.Sprint(r))
		}
	}()
	// A pass that lost the term is no failure: the loop stops as the term ends.
	if _, err := sync(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrNotLeader) {
		c.log.Error("sync pass failed", "err", err)
		c.passFailed()
	}
}

// watchKeys watches the desired keys (for drift), the pin and the sync request keys (for a full
// pass) and the health records (for CheckRollout) from the current revision, merged into one channel that closes when any of the watches
// is lost; nil when etcd cannot say.
func (c *Controller) watchKeys(ctx context.Context) <-chan store.Event {
	rev, err := c.st.Revision(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("watch keys", "err", err)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	var ins []<-chan store.Event
	for _, r := range []store.Resource{store.Desired, store.Pin, store.SyncRequest, store.Health} {
		ins = append(ins, c.st.Watch(ctx, r, rev))
	}
	return merge(ctx, cancel, ins)
}

// merge forwards every value of ins into one channel. When any input closes, cancel stops the
// others (their context is ctx) and the output closes once all have.
func merge[T any](ctx context.Context, cancel context.CancelFunc, ins []<-chan T) <-chan T {
	out := make(chan T, 64)
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() {
			defer cancel()
			forward(ctx, in, out)
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out
}

// forward copies in to out until in closes or ctx ends.
func forward[T any](ctx context.Context, in <-chan T, out chan<- T) {
	for v := range in {
		select {
		case out <- v:
		case <-ctx.Done():
			return
		}
	}
}

// wakes says which passes a batch of changes asks for: a full one (this source's pin or sync
// request changed), a resync (a desired key changed: drift) and a rollout check (this
// source's health record changed).
type wakes struct{ sync, drift, health bool }

// classify says which pass ch asks for.
func (c *Controller) classify(ch store.Event) wakes {
	switch {
	case ch.Resource == store.Desired:
		return wakes{drift: true}
	case ch.Name != c.opts.Name:
		return wakes{}
	case ch.Resource == store.Pin || ch.Resource == store.SyncRequest:
		return wakes{sync: true}
	case ch.Resource == store.Health:
		return wakes{health: true}
	}
	return wakes{}
}

// drain empties ch of the changes already queued, which one pass of each kind covers, adding
// what they ask for to w.
func (c *Controller) drain(ch <-chan store.Event, w wakes) wakes {
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return w
			}
			n := c.classify(v)
			w = wakes{w.sync || n.sync, w.drift || n.drift, w.health || n.health}
		default:
			return w
		}
	}
}

// DesiredReader reads the desired objects; *store.Store implements it.
type DesiredReader interface {
	ListDesired(ctx context.Context) (map[api.Key]store.DesiredObject, int64, error)
}

var _ DesiredReader = (*store.Store)(nil)

// DryRun returns the change set that files, a whole repository of manifests, would cause
// against the live desired state, writing nothing (gitfleet diff). When the files are not a
// valid commit under rules it returns their errors instead, as a sync would.
func DryRun(ctx context.Context, st DesiredReader, files map[string][]byte, rules api.Rules) (ChangeSet, []api.FieldError, error) {
	decoded, errs := rules.LoadSet(files)
	if len(errs) > 0 {
		return ChangeSet{}, errs, nil
	}
	live, _, err := st.ListDesired(ctx)
	if err != nil {
		return ChangeSet{}, nil, fmt.Errorf("dry run: %w", err)
	}
	return Diff(desiredObjects(decoded, ""), live), nil, nil
}

// DryRunDir is DryRun of the working tree dir, read by LoadDir with the rules of a commit.
func DryRunDir(ctx context.Context, st DesiredReader, dir, subPath string, rules api.Rules) (ChangeSet, []api.FieldError, error) {
	files, err := source.LoadDir(dir, subPath)
	if fe, ok := source.AsFileErrors(err); ok {
		return ChangeSet{}, fe, nil
	}
	if err != nil {
		return ChangeSet{}, nil, err
	}
	return DryRun(ctx, st, files, rules)
}

// DiffFiles returns the change set from prev to files, two whole repositories of manifests
// (commits), as a sync of files would compute it against the objects of prev: what a sync from
// one commit to the other changed (the dashboard's diff of the last sync). prev may be empty,
// for a first sync. When either set is not a valid commit under rules it returns its errors.
func DiffFiles(prev, files map[string][]byte, rules api.Rules) (ChangeSet, []api.FieldError) {
	decoded, errs := rules.LoadSet(files)
	if len(errs) > 0 {
		return ChangeSet{}, errs
	}
	before, errs := rules.LoadSet(prev)
	if len(errs) > 0 {
		return ChangeSet{}, errs
	}
	live := make(map[api.Key]store.DesiredObject, len(before))
	for _, obj := range desiredObjects(before, "") {
		live[api.KeyOf(obj)] = store.DesiredObject{Object: obj}
	}
	return Diff(desiredObjects(decoded, ""), live), nil
}
