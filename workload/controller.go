package workload

import (
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
		if !c.expect.met(cs.pods, time.Now()) {
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

// healthTimer fires when the tracker's next grace or deadline ends; never when there is none.
func (c *Controller) healthTimer() *time.Timer {
	now := c.opts.Now()
	next, ok := c.tracker.Next(now)
	if !ok {
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

// reconcile removes and creates Pods to move every workload of s one step towards its spec, and
// records the health of every desired object. It expects to see its writes before the next pass.
func (c *Controller) reconcile(ctx context.Context, s state) error {
	create, remove := planPods(s.desired, s.pods, s.statuses, c.opts.Rand)
	c.expect = expectations{after: s.podRev, until: time.Now().Add(c.opts.Resync)}
	applyErr := c.applyPods(ctx, create, remove)
	if err := c.recordHealth(ctx, s, store.MergeStatuses(s.pods, s.statuses, store.ReadyNodes(s.nodes))); err != nil {
		return errors.Join(applyErr, err)
	}
	return applyErr
}

// applyPods removes, then creates. A lost compare-and-swap fails the pass, which is retried.
func (c *Controller) applyPods(ctx context.Context, create []*api.Pod, remove []store.Item[api.Pod]) error {
	var errs []error
	for _, p := range remove {
		m := p.Value.Metadata
		if err := c.st.DeletePod(ctx, m.Namespace, m.Name, p.ModRevision); err != nil {
			errs = append(errs, err)
			continue
		}
		c.expect.removed = append(c.expect.removed, p)
		c.log.Info("deleted pod", "pod", p.Name, "owner", m.Annotations[api.AnnotationOwner])
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove pods: %w", errors.Join(errs...))
	}
	for _, p := range create {
		if err := c.st.CreatePod(ctx, p); err != nil {
			errs = append(errs, err)
			continue
		}
		c.expect.created = append(c.expect.created, p.Metadata.Namespace+"/"+p.Metadata.Name)
		c.log.Info("created pod", "pod", p.Metadata.Namespace+"/"+p.Metadata.Name,
			"owner", p.Metadata.Annotations[api.AnnotationOwner])
	}
	if len(errs) > 0 {
		return fmt.Errorf("create pods: %w", errors.Join(errs...))
	}
	return nil
}

// planPods is the pure pass: for every desired Deployment and Pod manifest in key order, the
// Pods to create and remove, plus the removal of Pods whose owner is no longer desired. The
// desired ConfigMaps a workload references are part of its template (ConfigHash). Pods
// without an owner of those kinds are never touched, nor are the Pods of a desired entry that
// could not be decoded (nil Object): the sync controller repairs or deletes that entry first.
func planPods(desired map[api.Key]store.DesiredObject, pods []store.Item[api.Pod],
	statuses map[api.PodKey]api.PodStatus, rnd *rand.Rand) (create []*api.Pod, remove []store.Item[api.Pod]) {
	owned := map[api.Key][]store.Item[api.Pod]{}
	for _, p := range pods {
		k, ok := parseOwner(p.Value.Metadata.Annotations[api.AnnotationOwner])
		if ok && (k.Kind == api.KindDeployment || k.Kind == api.KindPod) {
			owned[k] = append(owned[k], p)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(desired), api.CompareKeys) {
		if readsUndecodable(desired[k].Object, k.Namespace, desired) {
			continue // its config hash is unknown until the controller repairs the ConfigMap
		}
		switch o := desired[k].Object.(type) {
		case *api.Deployment:
			ch := ConfigHash(&o.Spec.Template.Spec, k.Namespace, desired)
			cr, rm := ReconcileDeployment(o, ch, owned[k], statuses, rnd)
			create, remove = append(create, cr...), append(remove, rm...)
		case *api.Pod:
			cr, rm := ReconcilePod(o, ConfigHash(&o.Spec, k.Namespace, desired), owned[k])
			if cr != nil {
				create = append(create, cr)
			}
			remove = append(remove, rm...)
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(owned), api.CompareKeys) {
		if _, ok := desired[k]; !ok {
			remove = append(remove, owned[k]...)
		}
	}
	return create, remove
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
