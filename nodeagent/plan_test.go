package nodeagent

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testPod(name, policy string, containers ...string) *api.Pod {
	return fixture.SleepPod(name, "gitfleet.local/busybox:1", policy, containers...)
}

// sandboxFor is what runs for pod, with the given container states in the order of its spec.
func sandboxFor(pod *api.Pod, states ...ContainerState) Sandbox {
	sb := Sandbox{Key: api.PodKeyOf(pod), SpecHash: SpecHash(pod), PodIP: "10.244.0.2"}
	for i, st := range states {
		st.Name = pod.Spec.Containers[i].Name
		sb.Containers = append(sb.Containers, st)
	}
	return sb
}

func running() ContainerState {
	return ContainerState{State: StateRunning, StartedAt: t0.Add(-time.Hour)}
}

func unhealthy(why string) ContainerState {
	c := running()
	c.Health.Kill = why
	return c
}

func exited(code int32, restarts int32, ago time.Duration) ContainerState {
	return ContainerState{State: StateExited, ExitCode: code, RestartCount: restarts,
		StartedAt: t0.Add(-ago - time.Second), FinishedAt: t0.Add(-ago)}
}

func render(steps []Step) []string {
	var out []string
	for _, s := range steps {
		line := s.String()
		if s.RequeueAfter > 0 {
			line += " [requeue " + s.RequeueAfter.String() + "]"
		}
		out = append(out, line)
	}
	return out
}

func TestPlan(t *testing.T) {
	web := testPod("web", "", "app")
	two := testPod("two", api.RestartAlways, "a", "b")
	never := testPod("job", api.RestartNever, "main")
	onFail := testPod("batch", api.RestartOnFailure, "main")
	changed := testPod("web", "", "app")
	changed.Spec.Containers[0].Args = []string{"sleep", "2000"}
	lost := sandboxFor(web, running())
	lost.NetworkLost = true
	orphan := Sandbox{Key: api.PodKeyOf(web)}

	tests := []struct {
		name     string
		wanted   []*api.Pod
		observed []Sandbox
		want     []string
	}{
		{"nothing", nil, nil, nil},
		{"new pod", []*api.Pod{web}, nil, []string{"create default/web: new pod"}},
		{"unwanted pod", nil, []Sandbox{sandboxFor(web, running())},
			[]string{"remove default/web: not wanted on this node"}},
		{"running pod", []*api.Pod{two}, []Sandbox{sandboxFor(two, running(), running())},
			[]string{"keep default/two/a: running", "keep default/two/b: running"}},
		{"spec changed", []*api.Pod{changed}, []Sandbox{sandboxFor(web, running())},
			[]string{"remove default/web: spec changed", "create default/web: spec changed"}},
		{"two specs at once", []*api.Pod{web}, []Sandbox{sandboxFor(web, running()), sandboxFor(changed, running())},
			[]string{"remove default/web: containers of several specs", "create default/web: containers of several specs"}},
		{"network lost", []*api.Pod{web}, []Sandbox{lost},
			[]string{"remove default/web: pod network lost", "create default/web: pod network lost"}},
		{"orphan network of a wanted pod", []*api.Pod{web}, []Sandbox{orphan},
			[]string{"remove default/web: half-created pod", "create default/web: half-created pod"}},
		{"orphan network of an unwanted pod", nil, []Sandbox{orphan},
			[]string{"remove default/web: not wanted on this node"}},
		{"missing container", []*api.Pod{two}, []Sandbox{sandboxFor(two, running())},
			[]string{"create default/two: missing containers b"}},
		{"created, not started", []*api.Pod{web}, []Sandbox{sandboxFor(web, ContainerState{State: StateCreated})},
			[]string{"start default/web/app: not started"}},
		{"start failed recently", []*api.Pod{web}, []Sandbox{sandboxFor(web, ContainerState{State: StateCreated, RestartCount: 2, StartedAt: t0.Add(-time.Second)})},
			[]string{"keep default/web/app: start failed, back-off 1s [requeue 1s]"}},
		{"failed starts back off, not counted as restarts", []*api.Pod{web}, []Sandbox{sandboxFor(web, ContainerState{State: StateCreated, FailedStarts: 3, StartedAt: t0.Add(-time.Second)})},
			[]string{"keep default/web/app: start failed, back-off 3s [requeue 3s]"}},
		{"task lost long ago (reboot)", []*api.Pod{web}, []Sandbox{sandboxFor(web, ContainerState{State: StateCreated, RestartCount: 2, StartedAt: t0.Add(-time.Hour)})},
			[]string{"start default/web/app: not started"}},
		{"unknown state", []*api.Pod{web}, []Sandbox{sandboxFor(web, ContainerState{State: StateUnknown})},
			[]string{"keep default/web/app: in an unknown state"}},
		{"first exit restarts at once", []*api.Pod{web}, []Sandbox{sandboxFor(web, exited(1, 0, 0))},
			[]string{"restart default/web/app: exited with code 1"}},
		{"exit 0 under Always restarts", []*api.Pod{web}, []Sandbox{sandboxFor(web, exited(0, 0, 0))},
			[]string{"restart default/web/app: exited with code 0"}},
		{"back-off after restarts", []*api.Pod{web}, []Sandbox{sandboxFor(web, exited(1, 3, time.Second))},
			[]string{"keep default/web/app: exited with code 1, back-off 3s [requeue 3s]"}},
		{"back-off elapsed", []*api.Pod{web}, []Sandbox{sandboxFor(web, exited(1, 3, 4*time.Second))},
			[]string{"restart default/web/app: exited with code 1"}},
		{"back-off capped", []*api.Pod{web}, []Sandbox{sandboxFor(web, exited(1, 30, 299*time.Second))},
			[]string{"keep default/web/app: exited with code 1, back-off 1s [requeue 1s]"}},
		{"Never keeps a failed container", []*api.Pod{never}, []Sandbox{sandboxFor(never, exited(1, 0, 0))},
			[]string{"keep default/job/main: exited with code 1, not restarted under restartPolicy Never"}},
		{"OnFailure keeps a success", []*api.Pod{onFail}, []Sandbox{sandboxFor(onFail, exited(0, 0, 0))},
			[]string{"keep default/batch/main: exited with code 0, not restarted under restartPolicy OnFailure"}},
		{"OnFailure restarts a failure", []*api.Pod{onFail}, []Sandbox{sandboxFor(onFail, exited(2, 0, 0))},
			[]string{"restart default/batch/main: exited with code 2"}},
		{"failed liveness kills", []*api.Pod{web}, []Sandbox{sandboxFor(web, unhealthy("liveness probe failed: status 500"))},
			[]string{"kill default/web/app: liveness probe failed: status 500"}},
		{"pods in key order", []*api.Pod{web, never}, []Sandbox{sandboxFor(two, running(), running())},
			[]string{"create default/job: new pod", "remove default/two: not wanted on this node", "create default/web: new pod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := render(Plan(tt.wanted, tt.observed, t0))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Plan:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPlanCreateCarriesPod(t *testing.T) {
	web := testPod("web", "", "app")
	steps := Plan([]*api.Pod{web}, nil, t0)
	if len(steps) != 1 || steps[0].Pod != web {
		t.Fatalf("create should carry the wanted pod: %+v", steps)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		restarts int32
		ran      time.Duration
		want     time.Duration
	}{
		{0, time.Second, 0},
		{1, time.Second, time.Second},
		{2, time.Second, 2 * time.Second},
		{4, time.Second, 8 * time.Second},
		{7, time.Second, 64 * time.Second},
		{9, time.Second, 256 * time.Second},
		{10, time.Second, 5 * time.Minute},
		{1000, time.Second, 5 * time.Minute},
		{1000, 9 * time.Minute, 5 * time.Minute},
		{1000, 10 * time.Minute, 0},
	}
	for _, tt := range tests {
		c := ContainerState{RestartCount: tt.restarts, StartedAt: t0, FinishedAt: t0.Add(tt.ran)}
		if got := backoff(c); got != tt.want {
			t.Errorf("backoff(restarts %d, ran %s) = %s, want %s", tt.restarts, tt.ran, got, tt.want)
		}
	}
}

func TestActionString(t *testing.T) {
	want := map[Action]string{ActionKeep: "keep", ActionRemove: "remove", ActionCreate: "create",
		ActionStart: "start", ActionRestart: "restart", Action(99): "Action(99)"}
	for a, s := range want {
		if a.String() != s {
			t.Errorf("Action(%d).String() = %q, want %q", int(a), a.String(), s)
		}
	}
}

// TestApplyConverges drives the observe → plan → apply loop against the fake runtime: one pass
// creates, the next keeps, an exit restarts, a spec change replaces, an unwanted Pod goes.
func TestApplyConverges(t *testing.T) {
	ctx := context.Background()
	rt := newFakeRuntime(t0)
	web, job := testPod("web", "", "app"), testPod("job", api.RestartNever, "main")
	pass := func(wanted ...*api.Pod) []string {
		t.Helper()
		rt.calls = nil
		observed, _ := rt.List(ctx)
		for _, s := range Plan(wanted, observed, rt.now) {
			if err := Apply(ctx, rt, s); err != nil {
				t.Fatalf("apply %s: %v", s, err)
			}
		}
		return rt.calls
	}
	steps := []struct {
		name   string
		before func()
		wanted []*api.Pod
		calls  []string
	}{
		{"create", nil, []*api.Pod{web, job}, []string{"ensure default/job", "ensure default/web"}},
		{"steady", nil, []*api.Pod{web, job}, nil},
		{"restart", func() { _ = rt.exit(api.PodKeyOf(web), "app", 137) }, []*api.Pod{web, job}, []string{"restart default/web/app"}},
		{"completed job stays", func() { _ = rt.exit(api.PodKeyOf(job), "main", 0) }, []*api.Pod{web, job}, nil},
		{"replace", nil, []*api.Pod{withArgs(web, "sleep", "5")}, []string{"remove default/job", "remove default/web", "ensure default/web"}},
		{"remove", nil, nil, []string{"remove default/web"}},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		if got := pass(s.wanted...); !slices.Equal(got, s.calls) {
			t.Fatalf("%s: calls %q, want %q", s.name, got, s.calls)
		}
	}
	if got := strings.Join(pass(), ","); got != "" {
		t.Fatalf("empty node should need nothing, got %s", got)
	}
}

func withArgs(p *api.Pod, args ...string) *api.Pod {
	c := api.Clone(p).(*api.Pod)
	c.Spec.Containers[0].Args = args
	return c
}

func TestApplyCreateWithoutPod(t *testing.T) {
	err := Apply(context.Background(), newFakeRuntime(t0), Step{Action: ActionCreate, Key: api.PodKey{Namespace: "default", Name: "x"}})
	if err == nil {
		t.Fatal("create without a pod should fail")
	}
}
