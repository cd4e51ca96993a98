package containerd

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/store"
)

// TestInitContainerStatuses runs Pods with init containers through the agent and reads their
// statuses from etcd: while an init container runs the Pod is Pending with reason Init:0/1 and
// its app container waits in PodInitializing; once it succeeded the app runs and the init
// container stays terminated, Completed, not run again under restartPolicy Always. An init
// container that fails under restartPolicy Never fails the Pod (Init:Error), run once.
func TestInitContainerStatuses(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	st, rt := agentTestEnv(t)
	runAgent(t, st, rt)
	ok := commandPod("init-ok", api.RestartAlways, "sleep 1000")
	ok.Spec.Volumes = []api.Volume{{Name: "work", EmptyDir: &api.EmptyDirVolumeSource{}}}
	wait := ok.Spec.Containers[0]
	wait.Name, wait.Command = "wait", []string{"sh", "-c", "until [ -e /work/go ]; do sleep 0.1; done"}
	wait.VolumeMounts = []api.VolumeMount{{Name: "work", MountPath: "/work"}}
	ok.Spec.InitContainers = []api.Container{wait}
	fails := commandPod("init-fails", api.RestartNever, "echo app ran")
	bad := fails.Spec.Containers[0]
	bad.Name, bad.Command = "bad", []string{"sh", "-c", "exit 3"}
	fails.Spec.InitContainers = []api.Container{bad}
	for _, p := range []*api.Pod{ok, fails} {
		p.Spec.NodeName = "node-a"
		if err := st.CreatePod(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}

	waitInitStatus(t, st, ok, func(s api.PodStatus) error {
		return expect(s, "Pending Init:0/1", "wait running  0", "main waiting PodInitializing")
	})
	dir, err := rt.volumeDir(api.PodKeyOf(ok), "work")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitInitStatus(t, st, ok, func(s api.PodStatus) error {
		return expect(s, "Running ", "wait terminated Completed 0", "main running ")
	})
	time.Sleep(time.Second) // passes meanwhile must leave the init container alone
	waitInitStatus(t, st, ok, func(s api.PodStatus) error {
		if s.InitContainerStatuses[0].RestartCount != 0 || !s.InitContainerStatuses[0].Ready {
			return fmt.Errorf("init container %+v: want ready, never restarted", s.InitContainerStatuses[0])
		}
		return expect(s, "Running ", "wait terminated Completed 0", "main running ")
	})

	waitInitStatus(t, st, fails, func(s api.PodStatus) error {
		return expect(s, "Failed Init:Error", "bad terminated Error 3", "main waiting PodInitializing")
	})
	if s := statusOfPod(t, st, fails); s.InitContainerStatuses[0].RestartCount != 0 {
		t.Fatalf("failed init container restarted %d times under Never", s.InitContainerStatuses[0].RestartCount)
	}
}

// expect compares a status to "phase reason", "init state reason exitCode" and
// "app state reason".
func expect(s api.PodStatus, pod, init, app string) error {
	if len(s.InitContainerStatuses) != 1 || len(s.ContainerStatuses) != 1 {
		return fmt.Errorf("status %+v: want one init and one app container status", s)
	}
	i, a := s.InitContainerStatuses[0], s.ContainerStatuses[0]
	got := []string{s.Phase + " " + s.Reason, fmt.Sprintf("%s %s %s %d", i.Name, i.State, i.Reason, i.ExitCode), a.Name + " " + a.State + " " + a.Reason}
	if want := []string{pod, init, app}; fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("status %q, want %q (%s)", got, want, s.Message)
	}
	return nil
}

func waitInitStatus(t *testing.T, st *store.Store, pod *api.Pod, check func(api.PodStatus) error) {
	t.Helper()
	waitFor(t, time.Minute, "status of "+pod.Metadata.Name, func() error { return check(statusOfPod(t, st, pod)) })
}

func statusOfPod(t *testing.T, st *store.Store, pod *api.Pod) api.PodStatus {
	t.Helper()
	sts, _, err := st.ListPodStatuses(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return sts[api.PodKeyOf(pod)]
}
