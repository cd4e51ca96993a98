package nodeagent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

func TestResolveConfigMaps(t *testing.T) {
	pod := fixture.ConfigPod("web", "gitfleet.local/busybox:1")
	app := fixture.ConfigMap("default", "app", map[string]string{"greeting": "hello", "message": "hi"})
	cms, err := resolveConfigMaps(pod, lookupIn("default", fixture.Desired(1, app, fixture.ConfigMap("other", "app", nil), fixture.ConfigMap("default", "unused", nil))))
	if err != nil || len(cms) != 1 || cms["app"] != app {
		t.Fatalf("resolve: %v, %v", cms, err)
	}
	for name, tt := range map[string]struct {
		desired map[api.Key]store.DesiredObject
		want    string
	}{
		"missing":            {fixture.Desired(1, fixture.ConfigMap("other", "app", nil)), `configmap "app" not found`},
		"missing env key":    {fixture.Desired(1, fixture.ConfigMap("default", "app", map[string]string{"message": "hi"})), `configmap "app" has no key "greeting"`},
		"missing volume key": {fixture.Desired(1, fixture.ConfigMap("default", "app", map[string]string{"greeting": "hi"})), `configmap "app" has no key "message"`},
	} {
		_, err := resolveConfigMaps(pod, lookupIn("default", tt.desired))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Message != tt.want {
			t.Errorf("%s: error %v, want %q", name, err, tt.want)
		}
	}
	optional := testPod("opt", "", "main")
	optional.Spec.Containers[0].Env = []api.EnvVar{{Name: "X", ValueFrom: fixture.KeyRef("absent", "x", true)}}
	if cms, err := resolveConfigMaps(optional, lookupIn("default", nil)); err != nil || len(cms) != 0 {
		t.Errorf("optional: %v, %v", cms, err)
	}
	down := errors.New("etcd unreachable")
	if _, err := resolveConfigMaps(pod, func(string) (*api.ConfigMap, error) { return nil, down }); !errors.Is(err, down) {
		t.Errorf("a failed lookup: %v", err)
	}
}

// lookupIn looks ConfigMaps of namespace up in desired.
func lookupIn(namespace string, desired map[api.Key]store.DesiredObject) func(string) (*api.ConfigMap, error) {
	return func(name string) (*api.ConfigMap, error) {
		cm, _ := desired[api.Key{Kind: api.KindConfigMap, Namespace: namespace, Name: name}].Object.(*api.ConfigMap)
		return cm, nil
	}
}

func TestSpecHashConfig(t *testing.T) {
	base := testPod("web", "", "app")
	// The hash of a Pod without volumes or config hash is what it was before they existed, so an
	// upgraded agent replaces no running container.
	old, _ := json.Marshal(struct {
		Containers  []api.Container `json:"containers"`
		HostNetwork bool            `json:"hostNetwork"`
	}{base.Spec.Containers, false})
	if h := SpecHash(base); h != hashOf(old) {
		t.Fatalf("SpecHash of a plain pod moved: %s, was %s", h, hashOf(old))
	}
	withVolume := fixture.ConfigPod("web", "gitfleet.local/busybox:1")
	withHash := api.Clone(withVolume).(*api.Pod)
	withHash.Metadata.Annotations = map[string]string{api.AnnotationConfigHash: "abc"}
	otherHash := api.Clone(withVolume).(*api.Pod)
	otherHash.Metadata.Annotations = map[string]string{api.AnnotationConfigHash: "def"}
	hashes := map[string]bool{}
	for _, p := range []*api.Pod{base, withVolume, withHash, otherHash} {
		hashes[SpecHash(p)] = true
	}
	if len(hashes) != 4 {
		t.Fatal("volumes or the config hash do not change the spec hash")
	}
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// TestAgentWaitsForConfigMap checks that a Pod whose ConfigMap is missing stays Pending with
// the reason, without touching the runtime, and is created with the ConfigMap once it exists.
func TestAgentWaitsForConfigMap(t *testing.T) {
	pod, plain := fixture.ConfigPod("web", "gitfleet.local/busybox:1"), testPod("plain", "", "main")
	for _, p := range []*api.Pod{pod, plain} {
		p.Spec.NodeName = "n1"
	}
	st := &fakeAgentStore{statuses: map[string]api.PodStatus{},
		pods: []store.Item[api.Pod]{{Name: "default/web", Value: *pod}, {Name: "default/plain", Value: *plain}}}
	rt := newFakeRuntime(t0)
	a := NewAgent(st, rt, slog.New(slog.DiscardHandler), AgentOptions{Node: NodeConfig{Name: "n1"}, Now: func() time.Time { return t0 }})
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := st.statuses["default/web"]
	if got.Phase != api.PodPending || got.Reason != "CreateContainerConfigError" || got.Message != `configmap "app" not found` {
		t.Fatalf("status without the ConfigMap: %+v", got)
	}
	if !slices.Equal(rt.calls, []string{"ensure default/plain"}) || st.desiredReads != 1 {
		t.Fatalf("runtime calls %q, desired read %d times", rt.calls, st.desiredReads)
	}
	app := fixture.ConfigMap("default", "app", map[string]string{"greeting": "hello", "message": "hi"})
	st.desired = fixture.Desired(1, app)
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := st.statuses["default/web"]; got.Phase != api.PodRunning || rt.configs[api.PodKeyOf(pod)]["app"] != app {
		t.Fatalf("with the ConfigMap: status %+v, configs %v", got, rt.configs)
	}
	if err := a.settle(t.Context()); err != nil || st.desiredReads != 2 {
		t.Fatalf("a pass that creates nothing read desired objects (%d reads, %v)", st.desiredReads, err)
	}
}

// TestAgentWaitsForConfigMapGrant: a ConfigMap the node may not read yet keeps its Pods Pending
// with the reason, even when the Pod can do without it, and read once per pass for all of them;
// once the read is granted the Pods are created.
func TestAgentWaitsForConfigMapGrant(t *testing.T) {
	web, web2 := fixture.ConfigPod("web", "gitfleet.local/busybox:1"), fixture.ConfigPod("web2", "gitfleet.local/busybox:1")
	optional := testPod("opt", "", "main")
	optional.Spec.Containers[0].Env = []api.EnvVar{{Name: "X", ValueFrom: fixture.KeyRef("app", "x", true)}}
	app := fixture.ConfigMap("default", "app", map[string]string{"greeting": "hello", "message": "hi"})
	st := &fakeAgentStore{statuses: map[string]api.PodStatus{}, desired: fixture.Desired(1, app),
		denied: map[api.Key]bool{api.KeyOf(app): true}}
	for _, p := range []*api.Pod{web, web2, optional} {
		p.Spec.NodeName = "n1"
		st.pods = append(st.pods, store.Item[api.Pod]{Name: api.PodKeyOf(p).String(), Value: *p})
	}
	rt := newFakeRuntime(t0)
	a := NewAgent(st, rt, slog.New(slog.DiscardHandler), AgentOptions{Node: NodeConfig{Name: "n1"}, Now: func() time.Time { return t0 }})
	for range 2 {
		if err := a.settle(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"default/web", "default/web2", "default/opt"} {
			got := st.statuses[name]
			if got.Phase != api.PodPending || got.Reason != "CreateContainerConfigError" ||
				got.Message != `configmap "app" is not readable by this node yet` {
				t.Fatalf("%s without the grant: %+v", name, got)
			}
		}
	}
	if len(rt.calls) != 0 || st.desiredReads != 2 {
		t.Fatalf("runtime calls %q, desired read %d times in two passes", rt.calls, st.desiredReads)
	}
	st.denied = nil
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"default/web", "default/web2", "default/opt"} {
		if got := st.statuses[name]; got.Phase != api.PodRunning {
			t.Errorf("%s with the grant: %+v", name, got)
		}
	}
}
