package noderights

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/internal/wake"
	"github.com/gitfleet/gitfleet/store"
)

// Store is what the controller needs of etcd; *store.Store implements it. SetNodeConfigMaps
// and NodeRoles need a client of etcd's root role.
type Store interface {
	store.CacheSource
	NodeRoles(ctx context.Context) ([]string, error)
	SetNodeConfigMaps(ctx context.Context, node string, cms []api.Key) error
}

var _ Store = (*store.Store)(nil)

// DefaultResync is how often the controller sets every node's role again.
const DefaultResync = 5 * time.Minute

// Options tune a Controller; zero values take defaults.
type Options struct {
	// Resync is the period after which every node's role is set again, mending grants changed
	// behind the controller's back; 0 means DefaultResync.
	Resync time.Duration
	// Cache tunes the cache of Pods.
	Cache store.CacheOptions
}

// Controller keeps each node's ConfigMap grants equal to what its bound Pods use.
type Controller struct {
	st   Store
	log  *slog.Logger
	opts Options
}

// New returns a controller (log nil discards); it does nothing until Run.
func New(st Store, log *slog.Logger, opts Options) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	return &Controller{st: st, log: log.With("controller", "noderights"), opts: opts}
}

// state is what the controller knows of the roles.
type state struct {
	// applied is the set each node's role was last given; a node missing has none.
	applied map[string][]api.Key
	// dirty are the nodes whose role to set whatever applied says: all of them at the start
	// and at each resync, and those whose last set failed half way.
	dirty map[string]bool
	// resync asks for the node roles to be listed and all marked dirty.
	resync bool
}

// Run keeps the nodes' rights until ctx ends, then returns nil: a pass after the Pods are
// listed, after every change of them, and after each Resync; a failed pass is retried after a
// capped, jittered backoff.
func (c *Controller) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pods := store.NewCache(c.st, store.Pods, store.DecodeJSON[api.Pod], c.opts.Cache)
	changed := wake.New()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { pods.Run(ctx, changed.Notify) })
	if pods.WaitSynced(ctx) != nil {
		return nil
	}
	resync := time.NewTicker(c.opts.Resync)
	defer resync.Stop()
	bo := backoff.New(100*time.Millisecond, 10*time.Second)
	s := &state{applied: map[string][]api.Key{}, dirty: map[string]bool{}, resync: true}
	for {
		var retry <-chan time.Time
		if err := c.pass(ctx, pods.List(), s); err != nil {
			if ctx.Err() == nil && !errors.Is(err, store.ErrNotLeader) { // a lost term ends the loop
				c.log.Error("set node rights", "err", err)
			}
			retry = time.After(bo.Next())
		} else {
			bo.Reset()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-retry:
		case <-resync.C:
			s.resync = true
		}
	}
}

// pass sets the role of every node whose wanted ConfigMaps, by pods, differ from what it was
// last given, and of every dirty node.
func (c *Controller) pass(ctx context.Context, pods []store.Item[api.Pod], s *state) error {
	if s.resync {
		nodes, err := c.st.NodeRoles(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			s.dirty[n] = true
		}
		for n := range s.applied {
			s.dirty[n] = true
		}
		s.resync = false
	}
	want := NodeConfigMaps(pods)
	var errs []error
	for _, node := range Changed(want, s.applied, s.dirty) {
		if err := c.st.SetNodeConfigMaps(ctx, node, want[node]); err != nil {
			s.dirty[node] = true // it may have changed part of the role
			errs = append(errs, err)
			continue
		}
		delete(s.dirty, node)
		if len(want[node]) == 0 {
			delete(s.applied, node)
		} else {
			s.applied[node] = want[node]
		}
		c.log.Debug("set the configmaps a node reads", "node", node, "configmaps", len(want[node]))
	}
	return errors.Join(errs...)
}
