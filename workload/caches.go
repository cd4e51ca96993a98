package workload

import (
	"context"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// state is what one pass reads: from fresh lists (ReconcileOnce) or from the caches (Run).
type state struct {
	desired  map[api.Key]store.DesiredObject
	rev      int64 // the desired objects are as they were at rev
	pods     []store.Item[api.Pod]
	podRev   int64 // the Pods are as they were at podRev
	statuses map[api.PodKey]api.PodStatus
	nodes    []store.Item[api.Node]
	records  []store.Item[api.ReplicaSet]
	// sync is the sync status of the source now, for when rev is compacted; nil after lists,
	// which are at a fresh revision.
	sync func() (api.SyncStatus, bool)
}

// list reads a state from etcd.
func (c *Controller) list(ctx context.Context) (state, error) {
	var s state
	var err error
	if s.desired, s.rev, err = c.st.ListDesired(ctx); err != nil {
		return s, err
	}
	if s.pods, s.podRev, err = c.st.ListPods(ctx); err != nil {
		return s, err
	}
	sts, _, err := c.st.ListPodStatusItems(ctx)
	if err != nil {
		return s, err
	}
	s.statuses = store.BoundStatuses(s.pods, sts)
	if s.nodes, _, err = c.st.ListNodes(ctx); err != nil {
		return s, err
	}
	s.records, _, err = c.st.ListReplicaSets(ctx)
	return s, err
}

// caches hold what Run's passes read, each listed once and then fed by its watch. A sync status
// that changed no object still needs a health record about its commit, so the sync status is
// cached too (and wakes passes); so are the nodes, as the Pods of a NotReady node are not running.
type caches struct {
	desired  *store.Cache[store.DesiredEntry]
	pods     *store.Cache[api.Pod]
	statuses *store.Cache[api.PodStatus]
	sync     *store.Cache[api.SyncStatus]
	nodes    *store.NodeCache
	records  *store.Cache[api.ReplicaSet]
}

func newCaches(src store.CacheSource, opts store.CacheOptions) caches {
	return caches{
		desired:  store.NewCache(src, store.Desired, store.DecodeDesiredEntry, opts),
		pods:     store.NewCache(src, store.Pods, store.DecodeJSON[api.Pod], opts),
		statuses: store.NewCache(src, store.PodStatus, store.DecodeJSON[api.PodStatus], opts),
		sync:     store.NewCache(src, store.Sync, store.DecodeJSON[api.SyncStatus], opts),
		nodes:    store.NewNodeCache(src, opts),
		records:  store.NewCache(src, store.ReplicaSets, store.DecodeJSON[api.ReplicaSet], opts),
	}
}

// run runs every cache until ctx ends.
func (cs caches) run(ctx context.Context, onChange func()) {
	var wg sync.WaitGroup
	wg.Go(func() { cs.desired.Run(ctx, onChange) })
	wg.Go(func() { cs.pods.Run(ctx, onChange) })
	wg.Go(func() { cs.statuses.Run(ctx, onChange) })
	wg.Go(func() { cs.sync.Run(ctx, onChange) })
	wg.Go(func() { cs.nodes.Run(ctx, onChange) })
	wg.Go(func() { cs.records.Run(ctx, onChange) })
	wg.Wait()
}

// waitSynced waits for the first list of every cache; it fails only when ctx ends first.
func (cs caches) waitSynced(ctx context.Context) error {
	for _, wait := range []func(context.Context) error{cs.desired.WaitSynced, cs.pods.WaitSynced,
		cs.statuses.WaitSynced, cs.sync.WaitSynced, cs.nodes.WaitSynced, cs.records.WaitSynced} {
		if err := wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// state reads a state from the caches, for source's sync status.
func (cs caches) state(source string) state {
	desired, rev := cs.desired.ListAt()
	pods, podRev := cs.pods.ListAt()
	return state{desired: store.DesiredObjects(desired), rev: rev, pods: pods, podRev: podRev,
		statuses: store.BoundStatuses(pods, cs.statuses.List()), nodes: cs.nodes.List(), records: cs.records.List(),
		sync: func() (api.SyncStatus, bool) {
			it, ok := cs.sync.Get(source)
			return it.Value, ok
		}}
}

// expectations are the Pod and record writes of the last pass that the caches have yet to
// show. The next pass waits for them: a Deployment read from a cache without its new Pods would
// make more, and a record read stale would lose its compare-and-swap. (A stale delete is
// harmless: it compares the revision, and loses.)
type expectations struct {
	// created are the names of the Pods created after the cache was at revision after.
	created []string
	after   int64
	// removed are the Pods deleted, as they were read.
	removed []store.Item[api.Pod]
	// records are the records written, by name, at the revision each write made; 0 for a
	// delete.
	records map[string]int64
	// until is when to stop waiting: a Pod created and deleted again at once may never show.
	until time.Time
}

// met reports whether the caches show every expected write, or it is too late to wait for them.
func (e *expectations) met(cs caches, now time.Time) bool {
	if now.After(e.until) {
		return true
	}
	for name, rev := range e.records {
		it, ok := cs.records.Get(name)
		if rev == 0 && ok || rev > 0 && (!ok || it.ModRevision < rev) {
			return false
		}
	}
	pods := cs.pods
	for _, name := range e.created {
		if it, ok := pods.Get(name); !ok || it.ModRevision <= e.after {
			return false
		}
	}
	for _, r := range e.removed {
		if it, ok := pods.Get(r.Name); ok && it.ModRevision == r.ModRevision {
			return false
		}
	}
	return true
}
