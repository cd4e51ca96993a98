package nodeagent

import (
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent/probe"
)

// TestStatusReadiness checks that a running container with probes is ready only as they found:
// its startup probe passed and its readiness probe passes, and never once its liveness failed;
// the Pod is ready when every container is.
func TestStatusReadiness(t *testing.T) {
	check := &api.Probe{Exec: &api.ExecAction{Command: []string{"true"}}}
	plain := testPod("plain", "", "app")
	ready := testPod("ready", "", "app", "side")
	ready.Spec.Containers[0].ReadinessProbe = check
	started := testPod("started", "", "app")
	started.Spec.Containers[0].StartupProbe = check
	started.Spec.Containers[0].LivenessProbe = check
	with := func(h probe.Health) ContainerState {
		c := running()
		c.Health = h
		return c
	}
	tests := []struct {
		name  string
		pod   *api.Pod
		state ContainerState
		ready bool
		msg   string
	}{
		{"no probes: ready when running", plain, running(), true, ""},
		{"readiness not passed yet", ready, running(), false, "readiness probe not passed yet"},
		{"readiness failing", ready, with(probe.Health{Started: true, Message: "readiness probe failed: status 503"}), false,
			"readiness probe failed: status 503"},
		{"readiness passes", ready, with(probe.Health{Started: true, Ready: true}), true, ""},
		{"startup not passed", started, with(probe.Health{}), false, "startup probe not passed yet"},
		{"startup passed", started, with(probe.Health{Started: true}), true, ""},
		{"liveness failed", started, with(probe.Health{Started: true, Kill: "liveness probe failed: x"}), false, "liveness probe failed: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states := []ContainerState{tt.state}
			if len(tt.pod.Spec.Containers) == 2 {
				states = append(states, running())
			}
			st := StatusOf(tt.pod, []Sandbox{sandboxFor(tt.pod, states...)})
			cs := st.ContainerStatuses[0]
			if st.Phase != api.PodRunning || cs.Ready != tt.ready || st.Ready != tt.ready || cs.Message != tt.msg {
				t.Fatalf("phase %s, pod ready %v, container %+v; want ready %v, message %q", st.Phase, st.Ready, cs, tt.ready, tt.msg)
			}
		})
	}
}
