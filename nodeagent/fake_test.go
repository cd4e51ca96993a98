package nodeagent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// fakeRuntime is an in-memory Runtime for the tests of Plan and Apply: it keeps sandboxes and
// records each call as "verb ns/name[/container]". It is safe for the agent's concurrent steps;
// tests read its fields between passes.
type fakeRuntime struct {
	mu        sync.Mutex
	now       time.Time
	sandboxes map[api.PodKey]*Sandbox
	calls     []string
	nextIP    int
	// configs are the ConfigMaps each Pod was last ensured with.
	configs map[api.PodKey]ConfigMaps
	// hold, when set, makes the removal of a Pod (recorded in calls first) wait on its channel.
	hold map[api.PodKey]chan struct{}
}

var _ ConfigRuntime = (*fakeRuntime)(nil)

func newFakeRuntime(now time.Time) *fakeRuntime {
	return &fakeRuntime{now: now, sandboxes: map[api.PodKey]*Sandbox{}}
}

func (f *fakeRuntime) List(context.Context) ([]Sandbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Sandbox
	for _, sb := range f.sandboxes {
		c := *sb
		c.Containers = slices.Clone(sb.Containers)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Sandbox) int { return strings.Compare(a.Key.String(), b.Key.String()) })
	return out, nil
}

func (f *fakeRuntime) EnsurePod(_ context.Context, pod *api.Pod) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ensurePod(pod)
}

func (f *fakeRuntime) ensurePod(pod *api.Pod) (string, error) {
	key := api.PodKeyOf(pod)
	f.calls = append(f.calls, "ensure "+key.String())
	sb := f.sandboxes[key]
	if sb == nil {
		f.nextIP++
		sb = &Sandbox{Key: key, SpecHash: SpecHash(pod), PodIP: fmt.Sprintf("10.244.0.%d", f.nextIP+1)}
		f.sandboxes[key] = sb
	}
	if sb.SpecHash != SpecHash(pod) {
		return "", fmt.Errorf("ensure pod %s: another spec", key)
	}
	for _, c := range pod.Spec.Containers {
		if _, ok := sb.Container(c.Name); !ok {
			sb.Containers = append(sb.Containers, ContainerState{Name: c.Name, Image: c.Image, State: StateRunning, StartedAt: f.now})
		}
	}
	slices.SortFunc(sb.Containers, func(a, b ContainerState) int { return strings.Compare(a.Name, b.Name) })
	return sb.PodIP, nil
}

func (f *fakeRuntime) EnsurePodConfig(_ context.Context, pod *api.Pod, cms ConfigMaps) (string, error) {
	if err := cms.Check(pod); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.configs == nil {
		f.configs = map[api.PodKey]ConfigMaps{}
	}
	f.configs[api.PodKeyOf(pod)] = cms
	return f.ensurePod(pod)
}

func (f *fakeRuntime) StartContainer(_ context.Context, key api.PodKey, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start "+key.String()+"/"+name)
	return f.update(key, name, func(c *ContainerState) {
		if c.State == StateCreated {
			c.State, c.StartedAt = StateRunning, f.now
		}
	})
}

func (f *fakeRuntime) RestartContainer(_ context.Context, key api.PodKey, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "restart "+key.String()+"/"+name)
	return f.update(key, name, func(c *ContainerState) {
		if c.State == StateExited {
			c.State, c.StartedAt, c.RestartCount = StateRunning, f.now, c.RestartCount+1
		}
	})
}

func (f *fakeRuntime) RemovePod(_ context.Context, key api.PodKey) error {
	f.mu.Lock()
	f.calls = append(f.calls, "remove "+key.String())
	held := f.hold[key]
	f.mu.Unlock()
	if held != nil {
		<-held
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, key)
	return nil
}

func (f *fakeRuntime) update(key api.PodKey, name string, fn func(*ContainerState)) error {
	sb := f.sandboxes[key]
	if sb == nil {
		return fmt.Errorf("no pod %s", key)
	}
	for i := range sb.Containers {
		if sb.Containers[i].Name == name {
			fn(&sb.Containers[i])
			return nil
		}
	}
	return fmt.Errorf("no container %s/%s", key, name)
}

// exit makes a running container exit with code at the fake's clock.
func (f *fakeRuntime) exit(key api.PodKey, name string, code int32) error {
	return f.update(key, name, func(c *ContainerState) {
		c.State, c.ExitCode, c.FinishedAt = StateExited, code, f.now
	})
}

// settle runs a pass, waits for the Pod operations it started and reports what they led to, as
// the pass their ends kick would, without planning again: a pass as it was before Pod workers.
func (a *Agent) settle(ctx context.Context) error {
	if err := a.pass(ctx); err != nil {
		return err
	}
	a.workers.wait()
	obs, err := a.observe(ctx)
	if err != nil {
		return err
	}
	a.report(ctx, a.log.With("pass", a.passes), obs)
	return nil
}

// count returns how many calls were call.
func (f *fakeRuntime) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == call {
			n++
		}
	}
	return n
}
