package nodeagent

import (
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestStatusEvents(t *testing.T) {
	status := func(cs ...api.ContainerStatus) *api.PodStatus { return &api.PodStatus{ContainerStatuses: cs} }
	running := api.ContainerStatus{Name: "app", State: "running"}
	backoff := api.ContainerStatus{Name: "app", State: "waiting", Reason: api.ReasonCrashLoopBackOff, RestartCount: 1, LastExitCode: 2}
	backoff2 := backoff
	backoff2.RestartCount = 2
	oom := api.ContainerStatus{Name: "app", State: "waiting", Reason: api.ReasonCrashLoopBackOff, LastReason: api.ReasonOOMKilled, RestartCount: 1, LastExitCode: 137}
	for _, tt := range []struct {
		name      string
		prev, cur *api.PodStatus
		want      []string
	}{
		{"running: none", status(running), status(running), nil},
		{"first report backing off", nil, status(backoff), []string{api.ReasonBackOff}},
		{"starts backing off", status(running), status(backoff), []string{api.ReasonBackOff}},
		{"still the same back-off", status(backoff), status(backoff), nil},
		{"another restart backs off again", status(backoff), status(backoff2), []string{api.ReasonBackOff}},
		{"killed for memory", status(running), status(oom), []string{api.ReasonOOMKilled, api.ReasonBackOff}},
		{"the same kill reported again", status(oom), status(oom), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range statusEvents(tt.prev, *tt.cur) {
				got = append(got, e.reason)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("events %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("events %v, want %v", got, tt.want)
				}
			}
		})
	}
}
