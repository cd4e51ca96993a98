package nodeagent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

func TestStatusOf(t *testing.T) {
	web := testPod("web", "", "app")
	two := testPod("two", api.RestartAlways, "a", "b")
	never := testPod("job", api.RestartNever, "a", "b")
	onFail := testPod("batch", api.RestartOnFailure, "main")
	changed := withArgs(web, "sleep", "1")
	lost := sandboxFor(web, running())
	lost.NetworkLost = true
	restarted := running()
	restarted.RestartCount = 3
	finished := t0.Add(-time.Minute).Format(time.RFC3339)

	tests := []struct {
		name     string
		pod      *api.Pod
		observed []Sandbox
		want     string // the status as JSON, without container statuses
		wantCS   []string
	}{
		{"nothing yet", web, nil,
			`{"phase":"Pending","ready":false,"restarts":0,"reason":"ContainerCreating","message":"waiting for the pod's containers to be created"}`,
			[]string{"app waiting 0 0 not created"}},
		{"other spec running", changed, []Sandbox{sandboxFor(web, running())},
			`{"phase":"Pending","ready":false,"restarts":0,"reason":"ContainerCreating","message":"replacing containers made from another spec"}`,
			[]string{"app waiting 0 0 not created"}},
		{"half-created", web, []Sandbox{{Key: api.PodKeyOf(web)}},
			`{"phase":"Pending","ready":false,"restarts":0,"reason":"ContainerCreating","message":"recreating a half-created pod"}`,
			[]string{"app waiting 0 0 not created"}},
		{"network lost", web, []Sandbox{lost},
			`{"phase":"Pending","ready":false,"restarts":0,"reason":"ContainerCreating","message":"recreating the pod: its network was lost"}`,
			[]string{"app waiting 0 0 not created"}},
		{"running and ready", two, []Sandbox{sandboxFor(two, running(), restarted)},
			`{"phase":"Running","ready":true,"restarts":3,"podIP":"10.244.0.2"}`,
			[]string{"a running 0 0 ", "b running 0 3 "}},
		{"one container not started", two, []Sandbox{sandboxFor(two, running(), ContainerState{State: StateCreated})},
			`{"phase":"Pending","ready":false,"restarts":0,"podIP":"10.244.0.2","message":"b: not started"}`,
			[]string{"a running 0 0 ", "b waiting 0 0 not started"}},
		{"one container missing", two, []Sandbox{sandboxFor(two, running())},
			`{"phase":"Pending","ready":false,"restarts":0,"podIP":"10.244.0.2","message":"b: not created"}`,
			[]string{"a running 0 0 ", "b waiting 0 0 not created"}},
		{"crashing under Always", web, []Sandbox{sandboxFor(web, exited(1, 2, time.Minute))},
			`{"phase":"Running","ready":false,"restarts":2,"podIP":"10.244.0.2","message":"app: exited with code 1 at ` + finished + `, restarting after a back-off of 2s"}`,
			[]string{"app waiting 0 2 exited with code 1 at " + finished + ", restarting after a back-off of 2s [CrashLoopBackOff, last 1 Error]"}},
		{"first exit restarts at once", web, []Sandbox{sandboxFor(web, exited(0, 0, time.Minute))},
			`{"phase":"Running","ready":false,"restarts":0,"podIP":"10.244.0.2","message":"app: exited with code 0 at ` + finished + `, restarting"}`,
			[]string{"app terminated 0 0 exited with code 0 at " + finished + ", restarting [Completed, last 0 ]"}},
		{"Never: all succeeded", never, []Sandbox{sandboxFor(never, exited(0, 0, time.Minute), exited(0, 0, time.Minute))},
			`{"phase":"Succeeded","ready":false,"restarts":0,"podIP":"10.244.0.2","message":"a: exited with code 0 at ` + finished + `; b: exited with code 0 at ` + finished + `"}`,
			[]string{"a terminated 0 0 exited with code 0 at " + finished + " [Completed, last 0 ]", "b terminated 0 0 exited with code 0 at " + finished + " [Completed, last 0 ]"}},
		{"Never: one failed", never, []Sandbox{sandboxFor(never, exited(0, 0, time.Minute), exited(3, 0, time.Minute))},
			`{"phase":"Failed","ready":false,"restarts":0,"podIP":"10.244.0.2","reason":"Error","message":"a: exited with code 0 at ` + finished + `; b: exited with code 3 at ` + finished + `"}`,
			[]string{"a terminated 0 0 exited with code 0 at " + finished + " [Completed, last 0 ]", "b terminated 3 0 exited with code 3 at " + finished + " [Error, last 0 ]"}},
		{"Never: one still running", never, []Sandbox{sandboxFor(never, exited(3, 0, time.Minute), running())},
			`{"phase":"Running","ready":false,"restarts":0,"podIP":"10.244.0.2","message":"a: exited with code 3 at ` + finished + `"}`,
			[]string{"a terminated 3 0 exited with code 3 at " + finished + " [Error, last 0 ]", "b running 0 0 "}},
		{"OnFailure: succeeded", onFail, []Sandbox{sandboxFor(onFail, exited(0, 1, time.Minute))},
			`{"phase":"Succeeded","ready":false,"restarts":1,"podIP":"10.244.0.2","message":"main: exited with code 0 at ` + finished + `"}`,
			[]string{"main terminated 0 1 exited with code 0 at " + finished + " [Completed, last 0 ]"}},
		{"OnFailure: failing restarts", onFail, []Sandbox{sandboxFor(onFail, exited(1, 1, time.Minute))},
			`{"phase":"Running","ready":false,"restarts":1,"podIP":"10.244.0.2","message":"main: exited with code 1 at ` + finished + `, restarting after a back-off of 1s"}`,
			[]string{"main waiting 0 1 exited with code 1 at " + finished + ", restarting after a back-off of 1s [CrashLoopBackOff, last 1 Error]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := StatusOf(tt.pod, tt.observed)
			var cs []string
			for _, c := range st.ContainerStatuses {
				if c.Image != "gitfleet.local/busybox:1" || c.Ready != (c.State == stateRunning) {
					t.Errorf("container status %+v: wrong image or readiness", c)
				}
				cs = append(cs, c.Name+" "+c.State+" "+itoa(c.ExitCode)+" "+itoa(c.RestartCount)+" "+c.Message)
				if c.Reason != "" {
					cs[len(cs)-1] += " [" + c.Reason + ", last " + itoa(c.LastExitCode) + " " + c.LastReason + "]"
				}
			}
			st.ContainerStatuses = nil
			got, _ := json.Marshal(st)
			if string(got) != tt.want {
				t.Errorf("status\n got %s\nwant %s", got, tt.want)
			}
			if len(cs) != len(tt.wantCS) {
				t.Fatalf("container statuses %q, want %q", cs, tt.wantCS)
			}
			for i := range cs {
				if cs[i] != tt.wantCS[i] {
					t.Errorf("container status %d\n got %q\nwant %q", i, cs[i], tt.wantCS[i])
				}
			}
		})
	}
}

func itoa(n int32) string {
	b, _ := json.Marshal(n)
	return string(b)
}
