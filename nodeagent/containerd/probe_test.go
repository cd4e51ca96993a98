package containerd

import (
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
)

// TestProbes runs the agent against a real etcd and the machine's containerd with three Pods:
// busybox httpd whose httpGet readiness probe fails (404) until the test creates the file it
// asks for; a container whose exec liveness probe fails once the test removes the file it
// checks, and which is then killed and restarted, once; and a server that listens late, ready
// by a tcpSocket probe on its named port only once it listens.
func TestProbes(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	st, rt := agentTestEnv(t)
	ctx := t.Context()
	web, live, late := readyPod(), livePod(), latePod()
	for _, p := range []*api.Pod{web, live, late} {
		p.Spec.NodeName = "node-a"
		if err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	runAgent(t, st, rt)

	t.Run("httpGet readiness", func(t *testing.T) {
		var ip string
		waitStatus(t, st, web, func(s api.PodStatus) bool {
			ip = s.PodIP
			return s.Phase == api.PodRunning && !s.Ready && strings.Contains(s.Message, "readiness probe failed")
		})
		// httpd serves, yet the Pod is not ready: the probe's page is missing
		waitFor(t, 30*time.Second, "httpd serving", func() error { return getBody(ctx, "http://"+ip+":8080/", "web web") })
		if sts, _, err := st.ListPodStatuses(ctx); err != nil || sts[api.PodKeyOf(web)].Ready {
			t.Fatalf("ready before its readiness page exists: %+v, %v", sts[api.PodKeyOf(web)], err)
		}
		if _, err := rt.Exec(ctx, api.PodKeyOf(web), "httpd", []string{"touch", "/www/ready.html"}); err != nil {
			t.Fatalf("exec: %v", err)
		}
		waitStatus(t, st, web, func(s api.PodStatus) bool { return s.IsReady() && s.Restarts == 0 })
	})
	t.Run("exec liveness restarts", func(t *testing.T) {
		waitStatus(t, st, live, func(s api.PodStatus) bool { return s.IsReady() })
		code, err := rt.Exec(ctx, api.PodKeyOf(live), "main", []string{"rm", "/tmp/alive"})
		if err != nil || code != 0 {
			t.Fatalf("exec rm: %d, %v", code, err)
		}
		waitStatus(t, st, live, func(s api.PodStatus) bool { return s.IsReady() && s.Restarts == 1 })
		// the new instance made its file again: its liveness check passes
		if code, err := rt.Exec(ctx, api.PodKeyOf(live), "main", []string{"cat", "/tmp/alive"}); err != nil || code != 0 {
			t.Fatalf("liveness check on the restarted container: %d, %v", code, err)
		}
	})
	t.Run("tcpSocket readiness", func(t *testing.T) {
		waitStatus(t, st, late, func(s api.PodStatus) bool { return s.IsReady() && s.Restarts == 0 })
	})
}

// readyPod serves /www with busybox httpd; its readiness probe GETs /ready.html every second.
func readyPod() *api.Pod {
	p := httpPod("web", "", 8080)
	p.Spec.Containers[0].ReadinessProbe = &api.Probe{PeriodSeconds: 1,
		HTTPGet: &api.HTTPGetAction{Path: "/ready.html", Port: api.FromInt(8080)}}
	return p
}

// livePod's liveness probe checks every second for a file the container makes as it starts.
func livePod() *api.Pod {
	p := commandPod("live", api.RestartAlways, "touch /tmp/alive && exec sleep 1000")
	p.Spec.Containers[0].LivenessProbe = &api.Probe{PeriodSeconds: 1, FailureThreshold: 2,
		Exec: &api.ExecAction{Command: []string{"cat", "/tmp/alive"}}}
	return p
}

// latePod listens on its port "web" 3 seconds after it starts.
func latePod() *api.Pod {
	p := commandPod("late", api.RestartAlways, "sleep 3; mkdir -p /www; exec httpd -f -p 8081 -h /www")
	c := &p.Spec.Containers[0]
	c.Ports = []api.ContainerPort{{Name: "web", ContainerPort: 8081}}
	c.ReadinessProbe = &api.Probe{PeriodSeconds: 1, TCPSocket: &api.TCPSocketAction{Port: api.FromString("web")}}
	return p
}
