package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/store"
)

// Store is the part of *store.Store the scheduler uses.
type Store interface {
	ListPods(ctx context.Context) ([]store.Item[api.Pod], int64, error)
	ListNodes(ctx context.Context) ([]store.Item[api.Node], int64, error)
	GetPod(ctx context.Context, namespace, name string) (api.Pod, int64, error)
	BindPod(ctx context.Context, pod api.Pod, modRev int64, node string) error
	UpdatePod(ctx context.Context, pod *api.Pod, modRev int64) error
	DeletePod(ctx context.Context, namespace, name string, modRev int64) error
	PutNodesStatus(ctx context.Context, st api.NodesStatus) error
	Watch(ctx context.Context, r store.Resource, rev int64) <-chan store.Event
}

var _ Store = (*store.Store)(nil)

// Options tune a Scheduler; a zero field takes the default named in its comment.
type Options struct {
	// Profile is the plugins Schedule runs (DefaultProfile()).
	Profile Profile
	// Debounce is the wait after a change before a pass, so a burst makes one pass (10ms).
	Debounce time.Duration
	// Resync is the period of a pass when nothing changes, to retry Pending Pods (10s).
	Resync time.Duration
	// BindRetries bounds the compare-and-swap attempts for one Pod in one pass (5).
	BindRetries int
	// BackoffBase and BackoffMax bound the jittered, doubling wait before the retry of a failed
	// pass when nothing changes, and before a new list after a lost watch (100ms, 30s).
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
	if o.BindRetries <= 0 {
		o.BindRetries = 5
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

// Scheduler binds every Pod without a node to a node, over and over: level-triggered, it lists
// Pods and Nodes, watches both from there, and on each change (or every Resync) lists again and
// schedules each unbound Pod against a fresh snapshot. Binding is a compare-and-swap, so several
// Schedulers on one etcd never bind a Pod twice (though each fits Pods against its own snapshot,
// so together they may overcommit a node). A Pod that fits nowhere keeps no node and gets Status
// Pending/Unschedulable with the FitError as message. The Pods of lost nodes are evicted
// (deleted), so their owners make them again for a live node (see nodelost.go).
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
}

// New returns a Scheduler of the Pods in st; log may be nil.
func New(st Store, log *slog.Logger, opts Options) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	return &Scheduler{st: st, log: log, opts: opts, lost: map[string]time.Time{},
		limiter: limiter{rate: opts.EvictionRate, burst: float64(opts.EvictionBurst)}}
}

// Run schedules until ctx ends, then returns nil. Failures (etcd unreachable, a lost watch, a
// failed bind) are logged and retried with capped, jittered backoff; they never end Run.
func (s *Scheduler) Run(ctx context.Context) error {
	bo := backoff.New(s.opts.BackoffBase, s.opts.BackoffMax)
	for session := 1; ; session++ {
		progressed, err := s.session(ctx, s.log.With("session", session))
		if ctx.Err() != nil {
			return nil
		}
		if progressed {
			bo.Reset()
		}
		wait := bo.Next()
		s.log.Warn("relisting after failure", "err", err, "wait", wait)
		if !backoff.Sleep(ctx, wait) {
			return nil
		}
	}
}

// session lists, watches from the listed revisions and schedules on each change until ctx ends
// or a watch is lost. progressed reports whether a pass succeeded.
func (s *Scheduler) session(ctx context.Context, log *slog.Logger) (progressed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, err := s.list(ctx)
	if err != nil {
		return false, err
	}
	podCh := s.st.Watch(ctx, store.Pods, l.podRev)
	nodeCh := mergeEvents(ctx, s.st.Watch(ctx, store.Nodes, l.nodeRev), s.st.Watch(ctx, store.NodeLeases, l.nodeRev),
		s.st.Watch(ctx, store.NodeSpecs, l.nodeRev))
	t := newTrigger(s.opts)
	defer t.timer.Stop()
	pass := 1
	err = s.schedulePass(ctx, log.With("pass", pass), l)
	progressed = err == nil
	s.passed(ctx, log.With("pass", pass), t, err)
	for {
		select {
		case <-ctx.Done():
			return progressed, nil
		case _, ok := <-podCh:
			if !ok {
				return progressed, errors.New("watch of pods lost")
			}
			t.changed()
		case _, ok := <-nodeCh:
			if !ok {
				return progressed, errors.New("watch of nodes lost")
			}
			t.changed()
		case <-t.timer.C:
			pass++
			plog := log.With("pass", pass)
			err := s.pass(ctx, plog)
			progressed = progressed || err == nil
			s.passed(ctx, plog, t, err)
		}
	}
}

// passed logs the failure of a pass, unless ctx ended it, and schedules the next pass: soon
// when evictions were held back.
func (s *Scheduler) passed(ctx context.Context, log *slog.Logger, t *trigger, err error) {
	if err != nil && ctx.Err() == nil {
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

// mergeEvents forwards the events of ins into one channel, which closes when any of them does.
func mergeEvents(ctx context.Context, ins ...<-chan store.Event) <-chan store.Event {
	out := make(chan store.Event, 64)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, len(ins))
	for _, in := range ins {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case ev, ok := <-in:
					if !ok {
						return
					}
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		<-done // the first input to end ends them all
		cancel()
		for range len(ins) - 1 {
			<-done
		}
		close(out)
	}()
	return out
}

// trigger holds the one timer of a session. A change makes a pass due after Debounce, so that a
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
