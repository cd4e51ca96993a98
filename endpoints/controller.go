package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/internal/wake"
	"github.com/gitfleet/gitfleet/store"
)

// Store is what the controller needs of etcd; *store.Store implements it. Its writes are
// fenced by the leader's term (store.Store.Fenced), so a deposed leader writes nothing.
type Store interface {
	store.CacheSource
	DesiredKindSource(kind string) store.CacheSource
	// PutEndpoints and DeleteEndpoints write one record whatever is stored (idempotent).
	PutEndpoints(ctx context.Context, ep *api.Endpoints) error
	DeleteEndpoints(ctx context.Context, namespace, name string) error
}

var _ Store = (*store.Store)(nil)

// Controller keeps every Service's endpoints record. It is level-triggered: each pass computes
// every record from its caches and writes those that differ from what is stored; events only
// wake it.
type Controller struct {
	st  Store
	log *slog.Logger
	// unseen are this controller's writes that the records cache does not show yet, by name.
	unseen map[string]write
}

// write is one record written (nil: deleted) while the records cache showed the record at
// cacheRev (0: absent), so that a pass before the cache catches up does not write it again.
type write struct {
	ep       *api.Endpoints
	cacheRev int64
}

// New returns a controller (log nil discards); it does nothing until Run.
func New(st Store, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{st: st, log: log.With("controller", "endpoints"), unseen: map[string]write{}}
}

// Run keeps the records until ctx ends, then returns nil: a pass once its caches are listed,
// then one after every change of Services, their allocations, Pods, Pod statuses, nodes or
// records. A failed pass is retried after a capped, jittered backoff, or at once when a change
// comes first.
func (c *Controller) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	cs := newCaches(c.st, store.CacheOptions{Log: c.log})
	changed := wake.New()
	wg.Go(func() { cs.run(ctx, changed.Notify) })
	if cs.waitSynced(ctx) != nil {
		return nil
	}
	bo := backoff.New(50*time.Millisecond, 10*time.Second)
	for {
		var retry time.Duration // 0: wait for a change only
		if err := c.pass(ctx, cs); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !errors.Is(err, store.ErrNotLeader) { // the term ends: the loop stops soon
				c.log.Error("write endpoints", "err", err)
			}
			retry = bo.Next()
		} else {
			bo.Reset()
		}
		if !await(ctx, changed, retry) {
			return nil
		}
	}
}

// await waits for a change, or for d when d > 0; false when ctx ended first.
func await(ctx context.Context, changed <-chan struct{}, d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-changed:
	case <-timeout:
	}
	return true
}

// pass writes the records that differ from the caches' view, turning a panic into an error.
func (c *Controller) pass(ctx context.Context, cs caches) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("compute endpoints: panic: %v", r)
		}
	}()
	return c.apply(ctx, Diff(cs.want(), c.stored(cs.records)), cs.records)
}

// stored is what the records are: as cached, but for the writes the cache does not show yet.
func (c *Controller) stored(records *store.Cache[api.Endpoints]) map[string]api.Endpoints {
	items := records.List()
	out := make(map[string]api.Endpoints, len(items))
	for _, it := range items {
		out[it.Name] = it.Value
	}
	for name, w := range c.unseen {
		if it, _ := records.Get(name); it.ModRevision != w.cacheRev {
			delete(c.unseen, name) // the cache moved on: it shows this write, or a later one
			continue
		}
		if w.ep == nil {
			delete(out, name)
		} else {
			out[name] = *w.ep
		}
	}
	return out
}

// apply makes the writes of cs; one failing does not stop the others.
func (c *Controller) apply(ctx context.Context, cs ChangeSet, records *store.Cache[api.Endpoints]) error {
	var errs []error
	for _, ch := range cs {
		if ch.Action == Unchanged {
			continue
		}
		cached, _ := records.Get(ch.Name)
		var err error
		if ch.Action == Delete {
			ns, name, _ := strings.Cut(ch.Name, "/")
			err = c.st.DeleteEndpoints(ctx, ns, name)
		} else {
			err = c.st.PutEndpoints(ctx, ch.Endpoints)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.unseen[ch.Name] = write{ep: ch.Endpoints, cacheRev: cached.ModRevision}
		c.logChange(ctx, ch)
	}
	return errors.Join(errs...)
}

func (c *Controller) logChange(ctx context.Context, ch Change) {
	ep := ch.Endpoints
	switch ch.Action {
	case Delete:
		c.log.Info("deleted endpoints", "service", ch.Name)
	case Create:
		c.log.Info("created endpoints", "service", ch.Name, "cluster_ip", ep.ClusterIP,
			"ready", ep.ReadyCount(), "endpoints", len(ep.Endpoints))
	default: // Pods come and go all day
		c.log.DebugContext(ctx, "updated endpoints", "service", ch.Name, "cluster_ip", ep.ClusterIP,
			"ready", ep.ReadyCount(), "endpoints", len(ep.Endpoints))
	}
}
