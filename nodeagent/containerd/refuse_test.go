package containerd

import (
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/netnstest"
)

// TestAgentRefusesPodsWrittenToEtcd runs the agent against a real etcd and the machine's
// containerd with Pods written straight into etcd, as a local user could: one whose volume name
// climbs to the host's root is Failed (InvalidPod, naming the field), one with the host's
// network in a namespace not labelled privileged stays Pending (HostAccessForbidden); neither
// gets a container nor a directory, while a valid Pod beside them runs.
func TestAgentRefusesPodsWrittenToEtcd(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	st, rt := agentTestEnv(t)
	ctx := t.Context()
	commitConfigMap(t, st, fixture.ConfigMap("default", "app", map[string]string{"k": "v"}))
	escape := commandPod("escape", api.RestartAlways, "ls /host; exec sleep 3600")
	escape.Spec.Volumes = []api.Volume{{Name: "../../../../../../..", ConfigMap: &api.ConfigMapVolumeSource{Name: "app"}}}
	escape.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "../../../../../../..", MountPath: "/host"}}
	hostNet := commandPod("hostnet", api.RestartAlways, "exec sleep 3600")
	hostNet.Spec.HostNetwork = true
	plain := commandPod("plain", api.RestartAlways, "exec sleep 3600")
	for _, p := range []*api.Pod{escape, hostNet, plain} {
		p.Spec.NodeName = "node-a"
		if err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	runAgent(t, st, rt)

	waitStatus(t, st, plain, func(s api.PodStatus) bool { return s.Phase == api.PodRunning })
	waitStatus(t, st, escape, func(s api.PodStatus) bool {
		return s.Phase == api.PodFailed && s.Reason == "InvalidPod" &&
			strings.HasPrefix(s.Message, `etcd:/gitfleet/pods/default/escape:0: spec.volumes[0].name: invalid name "../../../../../../.."`)
	})
	waitStatus(t, st, hostNet, func(s api.PodStatus) bool {
		return s.Phase == api.PodPending && s.Reason == "HostAccessForbidden" &&
			s.Message == "spec.hostNetwork: hostNetwork needs namespace default labelled pod-security.kubernetes.io/enforce: privileged"
	})
	for _, p := range []*api.Pod{escape, hostNet} {
		key := api.PodKeyOf(p)
		if _, ok := sandboxByKey(t, rt, key); ok || fileExists(rt.podDir(key)) {
			t.Errorf("%s: refused, yet a container (%v) or its directory (%v) was made", key, ok, fileExists(rt.podDir(key)))
		}
	}
}
