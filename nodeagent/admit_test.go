package nodeagent

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// TestAgentRefusesPods runs agent passes over Pods written straight into the store: an invalid
// one is Failed with the field named and never created; host access waits Pending until the
// Pod's Namespace is labelled privileged, then runs; a plain Pod runs throughout.
func TestAgentRefusesPods(t *testing.T) {
	escape := testPod("escape", "", "main")
	escape.Spec.Volumes = []api.Volume{{Name: "../../../..", ConfigMap: &api.ConfigMapVolumeSource{Name: "cm"}}}
	hostNet := testPod("hostnet", "", "main")
	hostNet.Metadata.Namespace = "infra"
	hostNet.Spec.HostNetwork = true
	hostPort := testPod("hostport", "", "main")
	hostPort.Spec.Containers[0].Ports = []api.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
	plain := testPod("plain", "", "main")
	st := &fakeAgentStore{statuses: map[string]api.PodStatus{}, desired: map[api.Key]store.DesiredObject{}}
	for i, p := range []*api.Pod{escape, hostNet, hostPort, plain} {
		p.Spec.NodeName = "n1"
		st.pods = append(st.pods, store.Item[api.Pod]{Name: api.PodKeyOf(p).String(), Value: *p, CreateRevision: int64(i + 1)})
	}
	infra := &api.Namespace{Metadata: api.ObjectMeta{Name: "infra"}}
	st.desired[api.Key{Kind: api.KindNamespace, Name: "infra"}] = store.DesiredObject{Object: infra}
	rt := newFakeRuntime(t0)
	a := NewAgent(st, rt, slog.New(slog.DiscardHandler), AgentOptions{Node: NodeConfig{Name: "n1"}, Now: func() time.Time { return t0 }})
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ phase, reason, message string }{
		"default/escape":   {api.PodFailed, ReasonInvalidPod, `etcd:/gitfleet/pods/default/escape:0: spec.volumes[0].name: invalid name "../../../.."`},
		"infra/hostnet":    {api.PodPending, ReasonHostAccessForbidden, "spec.hostNetwork: hostNetwork needs namespace infra labelled pod-security.kubernetes.io/enforce: privileged"},
		"default/hostport": {api.PodPending, ReasonHostAccessForbidden, "spec.containers[0].ports[0].hostPort: hostPort needs namespace default labelled"},
	}
	for key, w := range want {
		got := st.statuses[key]
		if got.Phase != w.phase || got.Reason != w.reason || !strings.HasPrefix(got.Message, w.message) {
			t.Errorf("%s: %s %s %q; want %s %s %q...", key, got.Phase, got.Reason, got.Message, w.phase, w.reason, w.message)
		}
		if _, ok := rt.sandboxes[api.PodKey{Namespace: strings.Split(key, "/")[0], Name: strings.Split(key, "/")[1]}]; ok {
			t.Errorf("%s: created though refused", key)
		}
	}
	if _, ok := rt.sandboxes[api.PodKeyOf(plain)]; !ok {
		t.Error("the plain Pod was not created")
	}

	// Labelling the namespaces lets their Pods run.
	for _, name := range []string{"infra", "default"} {
		ns := &api.Namespace{Metadata: api.ObjectMeta{Name: name,
			Labels: map[string]string{api.LabelPodSecurityEnforce: api.PodSecurityPrivileged}}}
		st.desired[api.Key{Kind: api.KindNamespace, Name: name}] = store.DesiredObject{Object: ns}
	}
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*api.Pod{hostNet, hostPort} {
		if _, ok := rt.sandboxes[api.PodKeyOf(p)]; !ok {
			t.Errorf("%s not created in a privileged namespace", api.PodKeyOf(p))
		}
	}
}
