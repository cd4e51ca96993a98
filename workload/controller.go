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
// health of every desired object. It is level-triggered: each pass lists desired objects, Pods
// and statuses and acts on all of them; watches only wake it. It touches only Pods whose owner
// annotation names a Deployment or a Pod manifest.
type Controller struct {
	st      *store.Store
	log     *slog.Logger
	opts    Options
	tracker *health.Tracker
	// recorded is the last health record written, to write only changes.
	recorded *api.HealthStatus
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

// Run reconciles until ctx ends, then returns nil: a pass now, then one after every change to
// desired objects, Pods, Pod statuses or the sync status, every Resync, and when a health grace
// or deadline ends. A lost watch is rebuilt from a fresh list; a failed pass is retried after a capped,
// jittered backoff.
func (c *Controller) Run(ctx context.Context) error {
	bo := backoff.New(200*time.Millisecond, 30*time.Second)
	resync := time.NewTicker(c.opts.Resync)
	defer resync.Stop()
	var wake <-chan struct{}
	stop := func() {}
	defer func() { stop() }()
	for {
		rev, err := c.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.log.Error("reconcile pods", "err", err)
			if !backoff.Sleep(ctx, bo.Next()) {
				return nil
			}
			continue
		}
		bo.Reset()
		if wake == nil {
			wake, stop = c.watch(ctx, rev)
		}
		timer := c.healthTimer()
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case _, ok := <-wake:
			if !ok {
				stop()
				wake = nil
			}
		case <-resync.C:
		case <-timer.C:
		}
		timer.Stop()
	}
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

// pass runs ReconcileOnce, turning a panic into an error.
func (c *Controller) pass(ctx context.Context) (rev int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reconcile pods: panic: %v", r)
		}
	}()
	return c.ReconcileOnce(ctx)
}

// watch merges watches of desired objects, Pods, Pod statuses, sync statuses (a new applied
// commit that changed no object still needs a health record about it) and nodes (the Pods of a
// NotReady node are not running) from rev into one wake-up channel, which closes when any of
// them is lost; stop ends them.
func (c *Controller) watch(ctx context.Context, rev int64) (<-chan struct{}, func()) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for _, r := range []store.Resource{store.Desired, store.Pods, store.PodStatus, store.Sync, store.Nodes, store.NodeLeases} {
		ch := c.st.Watch(ctx, r, rev)
		wg.Go(func() {
			defer cancel() // one lost watch ends all; the caller lists again
			for range ch {
				select {
				case out <- struct{}{}:
				default:
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out, cancel
}

// ReconcileOnce lists desired objects, Pods and statuses, removes and creates Pods to move
// every workload one step towards its spec, and records the health of every desired object. It
// returns the revision of the first list, from which a watch misses nothing.
func (c *Controller) ReconcileOnce(ctx context.Context) (int64, error) {
	desired, rev, err := c.st.ListDesired(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile pods: %w", err)
	}
	pods, _, err := c.st.ListPods(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile pods: %w", err)
	}
	statuses, _, err := c.st.ListPodStatuses(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile pods: %w", err)
	}
	nodes, _, err := c.st.ListNodes(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile pods: %w", err)
	}
	create, remove := planPods(desired, pods, statuses, c.opts.Rand)
	applyErr := c.applyPods(ctx, create, remove)
	if err := c.recordHealth(ctx, desired, rev, store.MergeStatuses(pods, statuses, store.ReadyNodes(nodes))); err != nil {
		return 0, errors.Join(applyErr, err)
	}
	return rev, applyErr
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
	var spec *api.PodSpec
	switch o := obj.(type) {
	case *api.Deployment:
		spec = &o.Spec.Template.Spec
	case *api.Pod:
		spec = &o.Spec
	default:
		return false
	}
	for _, name := range api.ConfigMapNames(spec) {
		if d, ok := desired[api.Key{Kind: api.KindConfigMap, Namespace: namespace, Name: name}]; ok && d.Object == nil {
			return true
		}
	}
	return false
}
