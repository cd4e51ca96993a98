package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	retry "github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/internal/wake"
	"github.com/gitfleet/gitfleet/store"
)

// AgentStore is what the agent needs of etcd; *store.Store implements it. The agent writes only
// its own node's keys and the status of Pods bound to it, and reads only the Pods bound to it
// (its node's index), every node (for the routes to their Pods), and of the desired objects
// only those it needs, one by one: the ConfigMaps of the Pods it creates and the Namespaces of
// Pods with host access. Those are all its rights in etcd (see package store's doc).
type AgentStore interface {
	NodeStore
	NodeLister
	store.CacheSource
	ListNodePods(ctx context.Context, node string) ([]store.Item[api.Pod], int64, error)
	WatchNodePods(ctx context.Context, node string, rev int64) <-chan store.Event
	GetDesired(ctx context.Context, k api.Key) (store.DesiredObject, error)
	// PutPodStatuses writes the statuses of Pods bound to node, each only while its binding is
	// the one read, in as few round trips as it can; one error per put.
	PutPodStatuses(ctx context.Context, node string, puts []store.PodStatusPut) []error
}

var _ AgentStore = (*store.Store)(nil)

// AgentOptions tune an Agent; zero values take defaults.
type AgentOptions struct {
	Node NodeConfig
	// Resync is the period of a pass when nothing changes in etcd, which notices exited
	// containers; when zero, 1s, or DefaultEventResync when the runtime streams exits
	// (EventRuntime): then it is only a safety net.
	Resync time.Duration
	// Now is the agent's clock; time.Now when nil.
	Now func() time.Time
	// Routes joins the node's Pod network to the other nodes'; nil leaves the network alone.
	Routes Routes
	// NetworkResync is the period of a Routes sync when no node changes;
	// DefaultNetworkResync when zero.
	NetworkResync time.Duration
	// Services follow every Service's endpoints (the proxy, the DNS); none when empty.
	Services []ServiceView
	// ServiceResync is the period of a sync of Services when none changes;
	// DefaultServiceResync when zero.
	ServiceResync time.Duration
	// Events records containers started, restarted, killed, OOMKilled and backing off; nil
	// records none. Metrics times the runtime operations; nil times none (see observe.go).
	Events  EventRecorder
	Metrics Metrics
}

// Agent makes the runtime run exactly the Pods bound to its node and reports their status.
type Agent struct {
	st   AgentStore
	rt   Runtime
	log  *slog.Logger
	opts AgentOptions

	// reported is the last status written per Pod, so an unchanged status is not rewritten.
	reported map[api.PodKey]report
	// runtime tracks whether the container runtime answers, for the node's conditions;
	// reportedConditions are the statuses of the conditions last written.
	runtime            runtimeHealth
	reportedConditions map[string]string
	passes             int
	workers            *podWorkers
	probes             *probers
	// exited has a value when the runtime told of an exit since the last pass began.
	exited wake.Signal
	// requeue is how soon the last pass's plan wants another (a back-off ending); 0 if not.
	requeue time.Duration
}

// DefaultEventResync is the period of the safety pass of an agent whose runtime streams exits.
const DefaultEventResync = 10 * time.Second

// NewAgent returns an agent for opts.Node; it does nothing until Run.
func NewAgent(st AgentStore, rt Runtime, log *slog.Logger, opts AgentOptions) *Agent {
	if _, ok := rt.(EventRuntime); ok && opts.Resync == 0 {
		opts.Resync = DefaultEventResync
	}
	if opts.Resync == 0 {
		opts.Resync = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NetworkResync == 0 {
		opts.NetworkResync = DefaultNetworkResync
	}
	grace := opts.Node.LeaseTTL
	if grace == 0 {
		grace = DefaultLeaseTTL
	}
	log = log.With("node", opts.Node.Name)
	return &Agent{st: st, rt: rt, log: log, opts: opts,
		reported: map[api.PodKey]report{}, runtime: runtimeHealth{grace: grace}, workers: newPodWorkers(),
		probes: newProbers(log, rt), exited: wake.New()}
}

var errWatchLost = errors.New("watch of pods lost")

// Run syncs Pods and, with Routes, the routes to other nodes' Pods until ctx ends, then returns
// nil; the node is registered and heartbeats before (Register, Heartbeat). Failures are logged
// and retried with capped, jittered backoff; containers and routes stay when the agent stops.
func (a *Agent) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait() // the network loop logs nothing after Run returns
	// Pod operations end with ctx: containers are left as they are when the agent stops.
	defer a.workers.wait()
	defer a.probes.stop()
	if a.opts.Routes != nil {
		net := &networkLoop{st: a.st, routes: a.opts.Routes, self: a.opts.Node.Name, resync: a.opts.NetworkResync, log: a.log}
		wg.Go(func() { net.run(ctx) })
	}
	if ert, ok := a.rt.(EventRuntime); ok {
		wg.Go(func() { a.watchExits(ctx, ert) })
	}
	if len(a.opts.Services) > 0 {
		svc := newServiceLoop(a.st, a.opts.Services, a.opts.ServiceResync, a.log)
		wg.Go(func() { svc.run(ctx) })
	}
	bo := retry.New(100*time.Millisecond, 10*time.Second)
	for {
		err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := bo.Next()
		a.log.Warn("pod sync restarting", "err", err, "wait", wait)
		retry.Sleep(ctx, wait)
	}
}

// session watches Pods from a fresh list and runs a pass on every change, every end of a
// Pod's operation, every change a probe finds, every exit the runtime tells of, when a back-off
// ends and every Resync. Passes and Pod operations use ctx, not the session's: a
// lost watch does not cut a stop short.
func (a *Agent) session(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, rev, err := a.st.ListNodePods(wctx, a.opts.Node.Name)
	if err != nil {
		return err
	}
	changes := a.st.WatchNodePods(wctx, a.opts.Node.Name, rev)
	timer := time.NewTimer(a.opts.Resync)
	defer timer.Stop()
	for {
		if err := a.pass(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("pod sync pass failed", "err", err)
		}
		next := a.opts.Resync
		if a.requeue > 0 {
			next = min(next, a.requeue)
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-changes:
			if !ok {
				return errWatchLost
			}
			drain(changes)
		case <-a.workers.kick:
		case <-a.probes.changed:
		case <-a.exited:
		case <-timer.C:
		}
	}
}

// drain discards the changes already queued: the next pass reads the state they led to.
func drain(ch <-chan store.Event) {
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

// observation is what a pass read: the Pods bound to this node with the CreateRevision of each
// binding, those admitted and why the others were refused, and what runs, listed at epoch of
// the Pod workers.
type observation struct {
	wanted   []*api.Pod
	revs     map[api.PodKey]int64
	admitted []*api.Pod
	refused  map[api.PodKey]error
	running  []Sandbox
	epoch    uint64
}

// pass observes, hands each Pod's steps to its worker and reports the status of every Pod as
// observed; it does not wait for the steps, whose end kicks the next pass.
func (a *Agent) pass(ctx context.Context) error {
	a.passes++
	log := a.log.With("pass", a.passes)
	obs, err := a.observe(ctx)
	if err != nil {
		return err
	}
	a.probes.sync(ctx, obs)
	// A refused Pod is planned as not wanted: whatever runs of it is removed.
	steps := Plan(obs.admitted, obs.running, a.opts.Now())
	a.requeue = soonest(steps)
	a.dispatch(ctx, log, obs, steps)
	a.report(ctx, log, obs)
	return nil
}

// soonest is the shortest RequeueAfter of steps, 0 if none has one.
func soonest(steps []Step) time.Duration {
	var d time.Duration
	for _, s := range steps {
		if s.RequeueAfter > 0 && (d == 0 || s.RequeueAfter < d) {
			d = s.RequeueAfter
		}
	}
	return d
}

// observe reads the wanted Pods, admits them and lists the runtime.
func (a *Agent) observe(ctx context.Context) (observation, error) {
	obs := observation{epoch: a.workers.snapshot()}
	var err error
	if obs.wanted, obs.revs, err = a.wanted(ctx); err != nil {
		return obs, err
	}
	if obs.admitted, obs.refused, err = a.admit(ctx, obs.wanted); err != nil {
		return obs, err
	}
	obs.running, err = a.rt.List(ctx)
	if ctx.Err() == nil {
		a.reportConditions(ctx, err)
	}
	if err != nil {
		return obs, fmt.Errorf("list runtime: %w", err)
	}
	return obs, nil
}

// wanted returns the Pods bound to this node and the CreateRevision of each binding, so that a
// status is written only to the Pod it was observed for, not to a later Pod of the same name.
func (a *Agent) wanted(ctx context.Context) ([]*api.Pod, map[api.PodKey]int64, error) {
	items, _, err := a.st.ListNodePods(ctx, a.opts.Node.Name)
	if err != nil {
		return nil, nil, err
	}
	var out []*api.Pod
	revs := map[api.PodKey]int64{}
	for i := range items {
		out = append(out, &items[i].Value)
		revs[api.PodKeyOf(&items[i].Value)] = items[i].CreateRevision
	}
	return out, revs, nil
}

// dispatch hands each Pod's steps to its worker, unless the worker is busy or finished since
// obs (a later pass plans those Pods afresh). The ConfigMaps of the Pods it creates are read
// from etcd once, before.
func (a *Agent) dispatch(ctx context.Context, log *slog.Logger, obs observation, steps []Step) {
	byPod := map[api.PodKey][]Step{}
	var keys []api.PodKey
	for _, s := range steps {
		if s.Action == ActionKeep {
			continue
		}
		if byPod[s.Key] == nil {
			keys = append(keys, s.Key)
		}
		byPod[s.Key] = append(byPod[s.Key], s)
	}
	configs := a.podConfigs(ctx, steps)
	for _, key := range keys {
		ss, cfg := byPod[key], configs[key]
		if !a.workers.dispatch(ctx, key, ss[0].Action, obs.epoch, func(ctx context.Context) error {
			return a.runSteps(ctx, log, ss, cfg)
		}) {
			log.Debug("pod busy or changed since observed; planned again next pass", "pod", key.String())
		}
	}
	wanted := map[api.PodKey]bool{}
	for key := range obs.revs {
		wanted[key] = true
	}
	a.workers.forget(obs.epoch, wanted)
}

// podConfig is the outcome of resolving the ConfigMaps of a Pod to create.
type podConfig struct {
	cms ConfigMaps
	err error
}

// podConfigs resolves the ConfigMaps of each Pod that steps create and that uses any, reading
// each ConfigMap once.
func (a *Agent) podConfigs(ctx context.Context, steps []Step) map[api.PodKey]podConfig {
	out := map[api.PodKey]podConfig{}
	r := configMapReader{st: a.st, read: map[api.Key]configMapRead{}}
	for _, s := range steps {
		if s.Action != ActionCreate || s.Pod == nil || !usesConfigMaps(s.Pod) {
			continue
		}
		ns := s.Pod.Metadata.Namespace
		cms, err := resolveConfigMaps(s.Pod, func(name string) (*api.ConfigMap, error) {
			return r.get(ctx, api.Key{Kind: api.KindConfigMap, Namespace: ns, Name: name})
		})
		out[s.Key] = podConfig{cms, err}
	}
	return out
}

// applyStep takes one step; a create goes through ConfigRuntime with the Pod's ConfigMaps
// when the runtime is one, and fails with cfg.err when they could not be resolved.
func (a *Agent) applyStep(ctx context.Context, s Step, cfg podConfig) error {
	if s.Action != ActionCreate || s.Pod == nil {
		return Apply(ctx, a.rt, s)
	}
	if cfg.err != nil {
		return cfg.err
	}
	if rt, ok := a.rt.(ConfigRuntime); ok {
		_, err := rt.EnsurePodConfig(ctx, s.Pod, cfg.cms)
		return err
	}
	if usesConfigMaps(s.Pod) {
		return fmt.Errorf("create %s: the runtime cannot give containers ConfigMaps", s.Key)
	}
	return Apply(ctx, a.rt, s)
}

// podApplyTimeout bounds one operation of a Pod (an image pull included).
const podApplyTimeout = 3 * time.Minute
