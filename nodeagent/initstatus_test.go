package nodeagent

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// initPod is a Pod of one app container "app" after the init containers named (a name
// ending in "-side" is a sidecar).
func initPod(policy string, inits ...string) *api.Pod {
	p := testPod("web", policy, "app")
	for _, name := range inits {
		c := p.Spec.Containers[0]
		c.Name = name
		if strings.HasSuffix(name, "-side") {
			c.RestartPolicy = api.RestartAlways
		}
		p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	}
	return p
}

// initSandbox is what runs for pod: its init containers in order, then app when given.
func initSandbox(pod *api.Pod, app *ContainerState, inits ...ContainerState) Sandbox {
	sb := Sandbox{Key: api.PodKeyOf(pod), SpecHash: SpecHash(pod), PodIP: "10.244.0.2"}
	for i, st := range inits {
		st.Name = pod.Spec.InitContainers[i].Name
		sb.Containers = append(sb.Containers, st)
	}
	if app != nil {
		a := *app
		a.Name = "app"
		sb.Containers = append(sb.Containers, a)
	}
	return sb
}

func TestInitStatuses(t *testing.T) {
	two := initPod(api.RestartAlways, "a", "b")
	never := initPod(api.RestartNever, "a")
	side := initPod(api.RestartAlways, "a", "log-side")
	run := running()
	for _, tc := range []struct {
		name     string
		pod      *api.Pod
		observed []Sandbox
		want     string // phase reason ready restarts
		wantInit []string
		wantApp  string
	}{
		{"nothing yet", two, nil, "Pending Init:0/2 false 0",
			[]string{"a waiting  not created", "b waiting  not created"}, "app waiting PodInitializing"},
		{"first running", two, []Sandbox{initSandbox(two, nil, running())}, "Pending Init:0/2 false 0",
			[]string{"a running  true", "b waiting  not created"}, "app waiting PodInitializing"},
		{"first done", two, []Sandbox{initSandbox(two, nil, exited(0, 0, time.Minute), running())}, "Pending Init:1/2 false 0",
			[]string{"a terminated Completed true", "b running  true"}, "app waiting PodInitializing"},
		{"second crash-looping", two, []Sandbox{initSandbox(two, nil, exited(0, 0, time.Minute), exited(1, 2, time.Second))},
			"Pending Init:CrashLoopBackOff false 2",
			[]string{"a terminated Completed true", "b waiting CrashLoopBackOff exited with code 1 at 2026-01-02T03:04:04Z, restarting after a back-off of 2s"},
			"app waiting PodInitializing"},
		{"first failure runs again", two, []Sandbox{initSandbox(two, nil, exited(1, 0, time.Second))}, "Pending Init:0/2 false 0",
			[]string{"a terminated Error exited with code 1 at 2026-01-02T03:04:04Z, restarting", "b waiting  not created"}, "app waiting PodInitializing"},
		{"failed under Never", never, []Sandbox{initSandbox(never, nil, exited(3, 0, time.Second))}, "Failed Init:Error false 0",
			[]string{"a terminated Error exited with code 3 at 2026-01-02T03:04:04Z"}, "app waiting PodInitializing"},
		{"done, app running", two, []Sandbox{initSandbox(two, &run, exited(0, 0, time.Minute), exited(0, 1, time.Minute))}, "Running  true 1",
			[]string{"a terminated Completed true", "b terminated Completed true"}, "app running "},
		{"sidecar running counts as started", side, []Sandbox{initSandbox(side, &run, exited(0, 0, time.Minute), running())}, "Running  true 0",
			[]string{"a terminated Completed true", "log-side running  true"}, "app running "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := StatusOf(tc.pod, tc.observed)
			if got := fmt.Sprintf("%s %s %v %d", st.Phase, st.Reason, st.Ready, st.Restarts); got != tc.want {
				t.Errorf("pod %q, want %q", got, tc.want)
			}
			var inits []string
			for _, cs := range st.InitContainerStatuses {
				note := cs.Message
				if cs.Ready {
					note = "true"
				}
				inits = append(inits, cs.Name+" "+cs.State+" "+cs.Reason+" "+note)
			}
			if fmt.Sprint(inits) != fmt.Sprint(tc.wantInit) {
				t.Errorf("init statuses\n got %q\nwant %q", inits, tc.wantInit)
			}
			app := st.ContainerStatuses[0]
			if got := app.Name + " " + app.State + " " + app.Reason; got != tc.wantApp {
				t.Errorf("app status %q, want %q", got, tc.wantApp)
			}
		})
	}
}

func TestPlanInitContainers(t *testing.T) {
	two := initPod(api.RestartAlways, "a", "b")
	never := initPod(api.RestartNever, "a")
	side := initPod(api.RestartOnFailure, "a", "log-side")
	run := running()
	for _, tc := range []struct {
		name string
		pod  *api.Pod
		sb   Sandbox
		want []string
	}{
		{"init done: left alone under Always", two, initSandbox(two, &run, exited(0, 0, time.Minute), exited(0, 0, time.Minute)),
			[]string{"keep default/web/a: init container, exited", "keep default/web/b: init container, exited", "keep default/web/app: running"}},
		{"init failed: run again", two, initSandbox(two, nil, exited(0, 0, time.Minute), exited(1, 0, time.Second)),
			[]string{"create default/web: missing containers app"}},
		{"init failed again: back-off", two, initSandbox(two, nil, exited(0, 0, time.Minute), exited(1, 3, time.Second)),
			[]string{"keep default/web/b: init container exited with code 1, back-off 3s [requeue 3s]"}},
		{"init failed under Never: not again", never, initSandbox(never, nil, exited(2, 0, time.Second)),
			[]string{"keep default/web/a: init container exited with code 2, not restarted under restartPolicy Never"}},
		{"sidecar exited: restarted whatever the pod's policy", side, initSandbox(side, &run, exited(0, 0, time.Minute), exited(0, 0, time.Minute)),
			[]string{"keep default/web/a: init container, exited", "restart default/web/log-side: exited with code 0", "keep default/web/app: running"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := render(Plan([]*api.Pod{tc.pod}, []Sandbox{tc.sb}, t0))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("plan\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestInitExited(t *testing.T) {
	two := initPod(api.RestartOnFailure, "a", "b")
	for _, tc := range []struct {
		name string
		sb   []Sandbox
		want bool
	}{
		{"none created (an image pull, say, failed)", nil, false},
		{"one running", []Sandbox{initSandbox(two, nil, running())}, false},
		{"one failed, to run again", []Sandbox{initSandbox(two, nil, exited(0, 0, time.Minute), exited(1, 0, time.Second))}, true},
		{"one in back-off", []Sandbox{initSandbox(two, nil, exited(1, 2, time.Second))}, true},
	} {
		if got := initExited(StatusOf(two, tc.sb)); got != tc.want {
			t.Errorf("%s: initExited = %v, want %v", tc.name, got, tc.want)
		}
	}
}
