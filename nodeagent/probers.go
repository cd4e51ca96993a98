package nodeagent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/wake"
	"github.com/gitfleet/gitfleet/nodeagent/probe"
)

// probers run the probes of every running container that has any, one probe.Container per
// container instance: a restarted container gets fresh probes, as in Kubernetes. Each pass
// syncs them with what it observed and reads their findings into the containers' Health, so
// that the plan and the status, both pure, see them. A change of a finding kicks a pass, which
// writes the status (readiness) or kills the container (liveness) at once.
type probers struct {
	log *slog.Logger
	// rt runs exec probes; nil when the runtime cannot.
	rt ProbeRuntime
	// changed has a value when a finding changed since the last pass began.
	changed wake.Signal

	mu      sync.Mutex
	running map[containerRef]*probed
}

// containerRef names a container of a Pod.
type containerRef struct {
	key  api.PodKey
	name string
}

// instance is one run of a container: its ID and when gitfleet started it.
type instance struct {
	id      string
	started time.Time
}

// probed is the probes of one container instance.
type probed struct {
	inst   instance
	c      *probe.Container
	cancel context.CancelFunc
}

func newProbers(log *slog.Logger, rt Runtime) *probers {
	p := &probers{log: log, changed: wake.New(), running: map[containerRef]*probed{}}
	p.rt, _ = rt.(ProbeRuntime)
	return p
}

// sync starts the probes of each admitted Pod's running containers that have probes, stops
// those of containers no longer running (or running another instance), and sets the Health of
// every container obs lists. The probes run until ctx ends or sync stops them.
func (p *probers) sync(ctx context.Context, obs observation) {
	want := map[containerRef]func() *probed{}
	for _, pod := range obs.admitted {
		p.wantPod(ctx, pod, obs.running, want)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for ref, pr := range p.running {
		if _, ok := want[ref]; !ok {
			pr.cancel()
			delete(p.running, ref)
		}
	}
	for ref, start := range want {
		if _, ok := p.running[ref]; !ok {
			p.running[ref] = start()
		}
	}
	for i := range obs.running {
		sb := &obs.running[i]
		for j := range sb.Containers {
			c := &sb.Containers[j]
			if pr, ok := p.running[containerRef{sb.Key, c.Name}]; ok && pr.inst == (instance{c.ID, c.StartedAt}) {
				c.Health = pr.c.Health()
			}
		}
	}
}

// wantPod adds to want a starter of the probes of each of pod's running containers that has
// any; a container whose probes already run for the same instance keeps them (its starter is
// not called).
func (p *probers) wantPod(ctx context.Context, pod *api.Pod, running []Sandbox, want map[containerRef]func() *probed) {
	sb, why := sandboxOf(pod, running)
	if why != "" {
		return
	}
	key := api.PodKeyOf(pod)
	for i := range pod.Spec.Containers {
		spec := &pod.Spec.Containers[i]
		c, ok := sb.Container(spec.Name)
		if !spec.Probes() || !ok || c.State != StateRunning {
			continue
		}
		ref, inst := containerRef{key, spec.Name}, instance{c.ID, c.StartedAt}
		p.mu.Lock()
		if pr, ok := p.running[ref]; ok && pr.inst != inst {
			pr.cancel() // a new instance: its probes start afresh
			delete(p.running, ref)
		}
		p.mu.Unlock()
		want[ref] = func() *probed { return p.start(ctx, ref, inst, spec, sb.PodIP) }
	}
}

// start runs the probes of one container instance.
func (p *probers) start(ctx context.Context, ref containerRef, inst instance, spec *api.Container, podIP string) *probed {
	ctx, cancel := context.WithCancel(ctx)
	t := probe.Target{PodIP: podIP}
	if p.rt != nil {
		t.Exec = func(ctx context.Context, cmd []string) (int, error) {
			return p.rt.Exec(ctx, ref.key, ref.name, cmd)
		}
	}
	log := p.log.With("pod", ref.key.String(), "container", ref.name)
	// the probes' schedule is on the clock of their timers, whatever the agent's Now
	c := probe.Start(ctx, log, probe.Of(spec, t), time.Now(), p.kick)
	return &probed{inst: inst, c: c, cancel: cancel}
}

func (p *probers) kick() { p.changed.Notify() }

// stop stops every probe and waits for them.
func (p *probers) stop() {
	p.mu.Lock()
	all := make([]*probed, 0, len(p.running))
	for ref, pr := range p.running {
		pr.cancel()
		all = append(all, pr)
		delete(p.running, ref)
	}
	p.mu.Unlock()
	for _, pr := range all {
		pr.c.Wait()
	}
}
