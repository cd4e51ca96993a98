package nodeagent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	retry "github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/store"
)

// Routes joins this node's Pod network to the other nodes'; package hostgw implements it.
type Routes interface {
	// Sync makes this node (named self) route to the Pods of every other node in nodes and
	// masquerade its own Pods' traffic only when it leaves every node's Pod range. It is
	// idempotent, so the agent calls it again after each change and after each failure.
	Sync(ctx context.Context, self string, nodes []api.Node) error
}

// NodeLister is what the network loop needs of etcd; *store.Store implements it.
type NodeLister interface {
	ListNodes(ctx context.Context) ([]store.Item[api.Node], int64, error)
	Watch(ctx context.Context, r store.Resource, rev int64) <-chan store.Event
}

var _ NodeLister = (*store.Store)(nil)

// DefaultNetworkResync is how often the network loop syncs when no node changes, so that a route
// removed by hand or with its link comes back.
const DefaultNetworkResync = 30 * time.Second

// networkLoop keeps the node's routes and masquerade in step with the node list. A node that
// is NotReady keeps its route (its lease is not watched): its Pods may well still run.
type networkLoop struct {
	st     NodeLister
	routes Routes
	self   string
	resync time.Duration
	log    *slog.Logger
}

// run syncs now, after every change of a node or its spec, and every resync, until ctx ends. A
// failed sync, or a lost watch, is retried with capped, jittered backoff; a stopped loop logs
// nothing.
func (l *networkLoop) run(ctx context.Context) {
	bo := retry.New(200*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		rev, err := l.sync(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := bo.Next()
			l.log.Warn("pod network sync failed", "err", err, "wait", wait)
			retry.Sleep(ctx, wait)
			continue
		}
		if !l.wait(ctx, rev) {
			bo.Reset()
			continue
		}
		// etcd compacted past rev or lost its leader: list again, but not in a hot loop.
		wait := bo.Next()
		l.log.Debug("node watch lost", "wait", wait)
		retry.Sleep(ctx, wait)
	}
}

// sync reads every node and syncs the routes to them; it returns the list's revision.
func (l *networkLoop) sync(ctx context.Context) (int64, error) {
	items, rev, err := l.st.ListNodes(ctx)
	if err != nil {
		return 0, err
	}
	nodes := make([]api.Node, len(items))
	for i := range items {
		nodes[i] = items[i].Value
	}
	return rev, l.routes.Sync(ctx, l.self, nodes)
}

// wait returns after the first change of a node or a node spec after rev, or after resync, or
// when ctx ends; it reports whether it returned because a watch was lost.
func (l *networkLoop) wait(ctx context.Context, rev int64) (lost bool) {
	ctx, cancel := context.WithTimeout(ctx, l.resync)
	defer cancel()
	wake := make(chan bool, 2)
	var wg sync.WaitGroup
	for _, r := range []store.Resource{store.Nodes, store.NodeSpecs} {
		ch := l.st.Watch(ctx, r, rev)
		wg.Go(func() {
			select {
			case _, ok := <-ch:
				wake <- !ok && ctx.Err() == nil
			case <-ctx.Done():
			}
		})
	}
	select {
	case lost = <-wake:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	return lost
}
