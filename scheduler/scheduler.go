package scheduler

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

// Store is the part of *store.Store the scheduler uses. Its caches list and watch through it;
// every write is a compare-and-swap against etcd, so a stale cache can only lose one.
type Store interface {
	store.CacheSource
	GetPod(ctx context.Context, namespace, name string) (api.Pod, int64, error)
	BindPod(ctx context.Context, pod api.Pod, modRev int64, node string) error
	BindPods(ctx context.Context, binds []store.Binding) ([]error, error)
	UpdatePod(ctx context.Context, pod *api.Pod, modRev int64) error
	DeletePod(ctx context.Context, namespace, name string, modRev int64) error
	PutNodesStatus(ctx context.Context, st api.NodesStatus) error
}

var _ Store = (*store.Store)(nil)

// Options tune a Scheduler; a zero field takes the default named in its comment.
type Options struct {
	// Profile is the plugins Schedule runs (DefaultProfile()).
	Profile Profile
	// Debounce is the wait after a change before a pass, so a burst makes one pass (10ms).
	Debounce time.Duration
	// Resync is the period of a pass when nothing changes, to retry Pending Pods (10s). A cache
	// whose watch sent nothing for so long lists again, in case the watch stopped silently.
	Resync time.Duration
	// SampleFloor and SamplePercent size the sample of feasible nodes a placement scores: all
	// nodes up to SampleFloor, else SamplePercent of them but at least SampleFloor (100, 5; see
	// SampleSize).
	SampleFloor, SamplePercent int
	// BindRetries bounds the compare-and-swap attempts for one Pod in one pass (5).
	BindRetries int
	// BindBatch is the most binds committed in one transaction (store.MaxBindBatch, also the
	// most it may be): when many Pods wait, one etcd round trip and fsync serves many binds.
	BindBatch int
	// BackoffBase and BackoffMax bound the jittered, doubling wait before the retry of a failed
	// pass when nothing changes, and before a cache lists again after a lost watch (100ms, 30s).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// PodTimeout bounds the etcd calls for one Pod (10s).
	PodTimeout time.Duration
	// NodeLostGrace is how long a node may be lost (not Ready, or gone) before its Pods are
	// evicted (0: at once; a node is NotReady only after its own grace, its lease TTL).
	NodeLostGrace time.Duration
	// EvictionRate and EvictionBurst limit evictions: so many Pods a second, so many at once
	// (10, 30).
	EvictionRate  float64
	EvictionBurst int
	// Now is the clock of status times, pass durations and node loss (time.Now).
	Now func() time.Time
	// Events records Pods scheduled or fitting nowhere and nodes lost; nil records none.
	// Metrics counts scheduling attempts and failed passes; nil counts none (see observe.go).
	Events  EventRecorder
	Metrics Metrics
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Profile.isZero() {
		o.Profile = DefaultProfile()
	}
	o.Debounce = orDefault(o.Debounce, 10*time.Millisecond)
	o.Resync = orDefault(o.Resync, 10*time.Second)
	o.BackoffBase = orDefault(o.BackoffBase, 100*time.Millisecond)
	o.BackoffMax = orDefault(o.BackoffMax, 30*time.Second)
	o.PodTimeout = orDefault(o.PodTimeout, 10*time.Second)
	if o.EvictionRate <= 0 {
		o.EvictionRate = 10
	}
	if o.EvictionBurst <= 0 {
		o.EvictionBurst = 30
	}
	if o.SampleFloor <= 0 {
		o.SampleFloor = 100
	}
	if o.SamplePercent <= 0 {
		o.SamplePercent = 5
	}
	if o.BindRetries <= 0 {
		o.BindRetries = 5
	}
	if o.BindBatch <= 0 || o.BindBatch > store.MaxBindBatch {
		o.BindBatch = store.MaxBindBatch
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Scheduler binds every Pod without a node to a node, over and over: level-triggered, it keeps
// caches of Pods and Nodes (listed once, then fed by their watches) and a Cluster updated from the
// keys they report changed; on each change (or every Resync) it schedules each unbound Pod
// against the Cluster, scoring a sample of the feasible nodes. Binding is a compare-and-swap, so
// several Schedulers on one etcd never bind a Pod twice (though each fits Pods against its own
// state, so together they may overcommit a node). A Pod that fits nowhere keeps no node and gets
// Status Pending/Unschedulable with the FitError as message; it is tried again when the cluster
// or the Pod changes. The Pods of lost nodes are evicted (deleted), so their owners make them
// again for a live node (see nodelost.go).
type Scheduler struct {
	st   Store
	log  *slog.Logger
	opts Options
	// lost is when each lost node was first seen lost; passes run one at a time.
	lost map[string]time.Time
	// limiter paces evictions; due asks for another pass soon, for Pods it held back.
	limiter limiter
	due     bool
	// recorded is the nodes status last written.
	recorded *api.NodesStatus
	// cluster is the state placements read, kept from the caches' changes (see sync).
	cluster *Cluster
	// failed holds, per Pod that fit nowhere, the Cluster's gen then: it is tried again when
	// the cluster or the Pod changes, not on every pass.
	failed map[string]uint64
}

// New returns a Scheduler of the Pods in st; log may be nil.
func New(st Store, log *slog.Logger, opts Options) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	return &Scheduler{st: st, log: log, opts: opts, lost: map[string]time.Time{}, cluster: NewCluster(), failed: map[string]uint64{},
		limiter: limiter{rate: opts.EvictionRate, burst: float64(opts.EvictionBurst)}}
}

// Run schedules until ctx ends, then returns nil. Failures (etcd unreachable, a lost watch, a
// failed bind) are logged and retried with capped, jittered backoff; they never end Run.
func (s *Scheduler) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	copts := store.CacheOptions{BackoffBase: s.opts.BackoffBase, BackoffMax: s.opts.BackoffMax, Quiet: s.opts.Resync,
		Log: s.log, TrackChanges: true}
	v := view{pods: store.NewCache(s.st, store.Pods, store.DecodeJSON[api.Pod], copts), nodes: store.NewNodeCache(s.st, copts)}
	changed := wake.New()
	wg.Go(func() { v.pods.Run(ctx, changed.Notify) })
	wg.Go(func() { v.nodes.Run(ctx, changed.Notify) })
	if v.pods.WaitSynced(ctx) != nil || v.nodes.WaitSynced(ctx) != nil {
		return nil
	}
	t := newTrigger(s.opts)
	defer t.timer.Stop()
	for pass := 1; ; pass++ {
		plog := s.log.With("pass", pass)
		s.sync(v)
		s.passed(ctx, plog, t, s.schedulePass(ctx, plog))
		if !waitPass(ctx, t, changed) {
			return nil
		}
	}
}

// waitPass waits until the next pass is due, making it due after Debounce on each change; false
// when ctx ended first.
func waitPass(ctx context.Context, t *trigger, changed <-chan struct{}) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-changed:
			t.changed()
		case <-t.timer.C:
			return true
		}
	}
}

// passed logs the failure of a pass, unless ctx ended it, and schedules the next pass: soon
// when evictions were held back.
func (s *Scheduler) passed(ctx context.Context, log *slog.Logger, t *trigger, err error) {
	if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrNotLeader) { // a lost term ends the loop
		log.Warn("pass failed; backing off", "err", err)
	}
	t.passed(err)
	if s.due && err == nil {
		s.due = false
		t.timer.Reset(evictionRetry)
	}
}

// evictionRetry is the wait before a pass that evicts what the limit held back.
const evictionRetry = 100 * time.Millisecond

// trigger holds the one timer of Run. A change makes a pass due after Debounce, so that a
// burst of changes makes one pass; else the next pass is due after Resync, or after a backoff
// when the last pass failed. Changes are not held back by a backoff: a pass fails for a Pod that
// cannot be written, and the other Pods must not wait for it.
type trigger struct {
	timer *time.Timer
	opts  Options
	bo    *backoff.Backoff
	armed bool // a change is waiting for its debounced pass
}

func newTrigger(opts Options) *trigger {
	return &trigger{timer: time.NewTimer(opts.Resync), opts: opts, bo: backoff.New(opts.BackoffBase, opts.BackoffMax)}
}

// changed makes a pass due after Debounce, unless one already is.
func (t *trigger) changed() {
	if t.armed {
		return
	}
	t.armed = true
	t.timer.Reset(t.opts.Debounce)
}

// passed schedules the next pass after one that ended with err.
func (t *trigger) passed(err error) {
	t.armed = false
	if err != nil {
		t.timer.Reset(t.bo.Next())
		return
	}
	t.bo.Reset()
	t.timer.Reset(t.opts.Resync)
}
