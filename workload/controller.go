package workload

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/health"
	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/internal/wake"
	"github.com/gitfleet/gitfleet/store"
)

// Options tune a Controller; zero values take defaults.
type Options struct {
	// Resync is the period of a full pass without any change; 0 means 10s.
	Resync time.Duration
	// Rand draws Pod name suffixes; nil seeds one from the time. The controller uses it from
	// one goroutine.
	Rand *rand.Rand
	// Source names the health record; "" means api.DefaultSource.
	Source string
	// Health bounds how long an object may look bad before it is recorded Degraded.
	Health health.Policy
	// Now is the clock of health records; nil means time.Now.
	Now func() time.Time
}

// Controller turns desired Deployments and Pod manifests into Pod objects, and records the
// health of every desired object. It is level-triggered: each pass reads all desired objects,
// Pods and statuses and acts on all of them. Run reads them from caches fed by watches (listed
// once), so that a change costs etcd that change, not a list of everything. It touches only
// Pods whose owner annotation names a Deployment or a Pod manifest.
type Controller struct {
	st      *store.Store
	log     *slog.Logger
	opts    Options
	tracker *health.Tracker
	// recorded is the last health record written, to write only changes.
	recorded *api.HealthStatus
	// expect are the Pod writes of Run's last pass, which its next pass waits to see.
	expect expectations
	// marks are how far each Deployment's rollout had got at the last pass; wake is when a
	// pass may decide differently with nothing changed (a deadline, minReadySeconds).
	marks map[api.Key]progressMark
	wake  time.Time
}

// NewController returns a controller (log nil discards); it does nothing until Run.
func NewController(st *store.Store, log *slog.Logger, opts Options) *Controller {
	if opts.Resync <= 0 {
		opts.Resync = 10 * time.Second
	}
	if opts.Rand == nil {
		seed := uint64(time.Now().UnixNano())
		opts.Rand = rand.New(rand.NewPCG(seed, seed>>1|1))
	}
	if opts.Source == "" {
		opts.Source = api.DefaultSource
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{st: st, log: log.With("controller", "workload"), opts: opts, tracker: health.NewTracker(opts.Health)}
}

// Run reconciles until ctx ends, then returns nil: a pass once its caches are listed, then one
// after every change to desired objects, Pods, Pod statuses, nodes or the sync status, every
// Resync, and when a health grace or deadline ends. A cache whose watch is lost lists again; a
// failed pass is retried after a capped, jittered backoff.
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
	bo := backoff.New(200*time.Millisecond, 30*time.Second)
	resync := time.NewTicker(c.opts.Resync)
	defer resync.Stop()
	for {
		if !c.expect.met(cs, time.Now()) {
			if !c.await(ctx, changed, time.Until(c.expect.until)) {
				return nil
			}
			continue
		}
		err := c.pass(ctx, cs.state(c.opts.Source))
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if !errors.Is(err, store.ErrNotLeader) { // the term ends: the loop stops soon
				c.log.Error("reconcile pods", "err", err)
			}
			if !backoff.Sleep(ctx, bo.Next()) {
				return nil
			}
			continue
		}
		bo.Reset()
		timer := c.healthTimer()
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-changed:
		case <-resync.C:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// await waits for a change, at most d; false when ctx ended first.
func (c *Controller) await(ctx context.Context, changed <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-changed:
	case <-t.C:
	}
	return true
}

// healthTimer fires when the tracker's next grace or deadline ends, or a rollout's deadline
// or a Pod's minReadySeconds; never when there is none.
func (c *Controller) healthTimer() *time.Timer {
	now := c.opts.Now()
	next, _ := c.tracker.Next(now)
	if c.wake.After(now) {
		next = earliest(next, c.wake)
	}
	if next.IsZero() {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}
	return time.NewTimer(next.Sub(now))
}

// pass runs reconcile on s, turning a panic into an error.
func (c *Controller) pass(ctx context.Context, s state) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reconcile pods: panic: %v", r)
		}
	}()
	return c.reconcile(ctx, s)
}

// ReconcileOnce lists desired objects, Pods and statuses and reconciles them, as one pass of
// Run does with its caches; for callers that do not Run. It returns the revision of the desired
// objects it read.
func (c *Controller) ReconcileOnce(ctx context.Context) (int64, error) {
	s, err := c.list(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile pods: %w", err)
	}
	return s.rev, c.reconcile(ctx, s)
}

// reconcile removes and creates Pods to move every workload of s one step towards its spec,
// keeps the Deployments' template records, and records the health of every desired object. It
// expects to see its writes before the next pass.
func (c *Controller) reconcile(ctx context.Context, s state) error {
	plan := planPods(planInput{desired: s.desired, pods: s.pods, statuses: s.statuses, records: s.records,
		marks: c.marks, deadline: c.progressDeadline(), now: c.opts.Now()}, c.opts.Rand)
	c.marks, c.wake = plan.marks, plan.wake
	c.expect = expectations{after: s.podRev, until: time.Now().Add(c.opts.Resync), records: map[string]int64{}}
	applyErr := c.applyPods(ctx, plan.create, plan.remove)
	applyErr = errors.Join(applyErr, c.applyRecords(ctx, plan.records))
	pods := store.MergeStatuses(s.pods, s.statuses, store.ReadyNodes(s.nodes))
	if err := c.recordHealth(ctx, s, pods, plan.rollouts); err != nil {
		return errors.Join(applyErr, err)
	}
	return applyErr
}

// progressDeadline is the progress deadline of a Deployment that sets none.
func (c *Controller) progressDeadline() time.Duration {
	return cmp.Or(c.opts.Health.ProgressDeadline, health.DefaultProgressDeadline)
}

// maxParallelWrites bounds the Pod writes of a pass in flight at once: a rollout step removes
// a quarter of the replicas together, none waiting on another.
const maxParallelWrites = 16

// applyPods removes, then creates, each set in parallel. A lost compare-and-swap fails the
// pass, which is retried.
func (c *Controller) applyPods(ctx context.Context, create []*api.Pod, remove []store.Item[api.Pod]) error {
	removed := parallel(remove, func(p store.Item[api.Pod]) error {
		m := p.Value.Metadata
		return c.st.DeletePod(ctx, m.Namespace, m.Name, p.ModRevision)
	})
	var errs []error
	for i, p := range remove {
		if errs = appendErr(errs, removed[i]); removed[i] == nil {
			c.expect.removed = append(c.expect.removed, p)
			c.log.Info("deleted pod", "pod", p.Name, "owner", p.Value.Metadata.Annotations[api.AnnotationOwner])
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove pods: %w", errors.Join(errs...))
	}
	created := parallel(create, func(p *api.Pod) error { return c.st.CreatePod(ctx, p) })
	for i, p := range create {
		if errs = appendErr(errs, created[i]); created[i] == nil {
			c.expect.created = append(c.expect.created, p.Metadata.Namespace+"/"+p.Metadata.Name)
			c.log.Info("created pod", "pod", p.Metadata.Namespace+"/"+p.Metadata.Name,
				"owner", p.Metadata.Annotations[api.AnnotationOwner])
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("create pods: %w", errors.Join(errs...))
	}
	return nil
}

// applyRecords writes and deletes template records; a lost compare-and-swap fails the pass.
func (c *Controller) applyRecords(ctx context.Context, p recordPlan) error {
	var errs []error
	for _, w := range p.puts {
		rev, err := c.st.PutReplicaSet(ctx, w.rs, w.modRev)
		if errs = appendErr(errs, err); err == nil {
			c.expect.records[store.ReplicaSetName(w.rs)] = rev
		}
	}
	for _, r := range p.deletes {
		err := c.st.DeleteReplicaSet(ctx, &r.Value, r.ModRevision)
		if errs = appendErr(errs, err); err == nil {
			c.expect.records[r.Name] = 0
			c.log.Info("pruned template record", "record", r.Name, "revision", r.Value.Revision)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("write template records: %w", errors.Join(errs...))
	}
	return nil
}

// parallel calls f on each item, at most maxParallelWrites at once, and returns the errors
// in the order of items.
func parallel[T any](items []T, f func(T) error) []error {
	errs := make([]error, len(items))
	sem := make(chan struct{}, maxParallelWrites)
	var wg sync.WaitGroup
	for i, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = f(it)
		})
	}
	wg.Wait()
	return errs
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

// planInput is what planPods reads: the state of a pass, the rollouts' marks of the last
// one, the default progress deadline and the time.
type planInput struct {
	desired  map[api.Key]store.DesiredObject
	pods     []store.Item[api.Pod]
	statuses map[api.PodKey]api.PodStatus
	records  []store.Item[api.ReplicaSet]
	marks    map[api.Key]progressMark
	deadline time.Duration
	now      time.Time
}

// podPlan is what one pass writes, and what it learnt of the rollouts.
type podPlan struct {
	create   []*api.Pod
	remove   []store.Item[api.Pod]
	records  recordPlan
	rollouts map[api.Key]api.RolloutStatus
	marks    map[api.Key]progressMark
	// wake is when a pass may decide differently with nothing changed; zero for never.
	wake time.Time
}

// planPods is the pure pass: for every desired Deployment and Pod manifest in key order, the
// Pods to create and remove, plus the removal of Pods whose owner is no longer desired, and the
// template records of the Deployments (those of a Deployment no longer desired go with its
// last Pod). The desired ConfigMaps a workload references are part of its template
// (ConfigHash). Pods without an owner of those kinds are never touched, nor are the Pods of a
// desired entry that could not be decoded (nil Object): the sync controller repairs or deletes
// that entry first.
func planPods(in planInput, rnd *rand.Rand) podPlan {
	owned := map[api.Key][]store.Item[api.Pod]{}
	for _, p := range in.pods {
		k, ok := parseOwner(p.Value.Metadata.Annotations[api.AnnotationOwner])
		if ok && (k.Kind == api.KindDeployment || k.Kind == api.KindPod) {
			owned[k] = append(owned[k], p)
		}
	}
	records := map[api.Key][]store.Item[api.ReplicaSet]{}
	for _, r := range in.records {
		k := api.Key{Kind: api.KindDeployment, Namespace: r.Value.Namespace, Name: r.Value.Deployment}
		records[k] = append(records[k], r)
	}
	out := podPlan{rollouts: map[api.Key]api.RolloutStatus{}, marks: map[api.Key]progressMark{}}
	for _, k := range slices.SortedFunc(maps.Keys(in.desired), api.CompareKeys) {
		if readsUndecodable(in.desired[k].Object, k.Namespace, in.desired) {
			continue // its config hash is unknown until the controller repairs the ConfigMap
		}
		switch o := in.desired[k].Object.(type) {
		case *api.Deployment:
			dp := reconcileDeployment(o, deploymentInput{configHash: ConfigHash(&o.Spec.Template.Spec, k.Namespace, in.desired),
				pods: owned[k], statuses: in.statuses, records: records[k], mark: in.marks[k], deadline: in.deadline, now: in.now}, rnd)
			out.create, out.remove = append(out.create, dp.create...), append(out.remove, dp.remove...)
			out.records.add(dp.records)
			out.rollouts[k], out.marks[k], out.wake = dp.rollout, dp.mark, earliest(out.wake, dp.wake)
		case *api.Pod:
			cr, rm := ReconcilePod(o, ConfigHash(&o.Spec, k.Namespace, in.desired), owned[k])
			if cr != nil {
				out.create = append(out.create, cr)
			}
			out.remove = append(out.remove, rm...)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(owned), api.CompareKeys) {
		if _, ok := in.desired[k]; !ok {
			out.remove = append(out.remove, owned[k]...)
		}
	}
	out.records.deletes = append(out.records.deletes, orphanRecords(in.records, in.desired, owned)...)
	return out
}

// readsUndecodable reports whether obj's Pods read a ConfigMap whose stored value cannot be
// decoded: acting on it would take that ConfigMap as absent and replace every Pod.
func readsUndecodable(obj api.Object, namespace string, desired map[api.Key]store.DesiredObject) bool {
	spec := api.PodSpecOf(obj) // nil for a kind that makes no Pods, and for an undecodable entry
	if spec == nil {
		return false
	}
	for _, name := range api.ConfigMapNames(spec) {
		if d, ok := desired[api.Key{Kind: api.KindConfigMap, Namespace: namespace, Name: name}]; ok && d.Object == nil {
			return true
		}
	}
	return false
}
