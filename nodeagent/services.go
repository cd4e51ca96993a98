package nodeagent

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	retry "github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/internal/wake"
	"github.com/gitfleet/gitfleet/store"
)

// ServiceView is one part of the node that follows the Services: the proxy's kernel rules, the
// cluster DNS. Each implementation keeps what it last applied and turns a Sync into the
// changes since, so a Sync with nothing new costs little.
type ServiceView interface {
	// Sync makes the view serve exactly services (sorted by namespace, then name). It is
	// idempotent: the loop calls it again after every change, after a failure and every resync.
	Sync(ctx context.Context, services []api.Endpoints) error
}

// DefaultServiceResync is how often the service loop syncs its views when nothing changes, so
// that a rule removed by hand comes back.
const DefaultServiceResync = 30 * time.Second

// serviceLoop feeds the views from a cache of every Service's endpoints: list once, then watch.
type serviceLoop struct {
	cache  *store.Cache[api.Endpoints]
	views  []ServiceView
	resync time.Duration
	log    *slog.Logger
}

func newServiceLoop(src store.CacheSource, views []ServiceView, resync time.Duration, log *slog.Logger) *serviceLoop {
	if resync == 0 {
		resync = DefaultServiceResync
	}
	c := store.NewCache(src, store.Endpoints, store.DecodeJSON[api.Endpoints], store.CacheOptions{Log: log})
	return &serviceLoop{cache: c, views: views, resync: resync, log: log}
}

// run keeps the views in step with the cache until ctx ends: a sync after the first list, after
// every change and every resync; a view that fails is retried with capped, jittered backoff
// without holding the others back.
func (l *serviceLoop) run(ctx context.Context) {
	changed := wake.New()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { l.cache.Run(ctx, changed.Notify) })
	if l.cache.WaitSynced(ctx) != nil {
		return
	}
	feeds := make([]chan []api.Endpoints, len(l.views))
	for i, v := range l.views {
		feeds[i] = make(chan []api.Endpoints, 1)
		wg.Go(func() { l.feed(ctx, v, feeds[i]) })
	}
	tick := time.NewTicker(l.resync)
	defer tick.Stop()
	for {
		services := l.snapshot()
		for _, f := range feeds {
			replace(f, services)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// feed syncs v with the latest snapshot sent on in, retrying a failure until a newer one comes.
func (l *serviceLoop) feed(ctx context.Context, v ServiceView, in chan []api.Endpoints) {
	bo := retry.New(100*time.Millisecond, 10*time.Second)
	var pending []api.Endpoints
	for {
		if pending == nil {
			select {
			case <-ctx.Done():
				return
			case pending = <-in:
			}
		}
		if err := v.Sync(ctx, pending); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := bo.Next()
			l.log.Warn("service sync failed", "view", fmt.Sprintf("%T", v), "err", err, "wait", wait)
			select {
			case <-ctx.Done():
				return
			case pending = <-in: // a newer state: try that at once
			case <-time.After(wait):
			}
			continue
		}
		bo.Reset()
		pending = nil
	}
}

// snapshot is every Service's endpoints, sorted by namespace and name.
func (l *serviceLoop) snapshot() []api.Endpoints {
	items := l.cache.List()
	out := make([]api.Endpoints, 0, len(items))
	for _, it := range items {
		out = append(out, it.Value)
	}
	slices.SortFunc(out, func(a, b api.Endpoints) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// replace puts v in the one-slot channel ch, dropping an older value not yet taken.
func replace[T any](ch chan T, v T) {
	for {
		select {
		case ch <- v:
			return
		default:
			select {
			case <-ch:
			default:
			}
		}
	}
}
