package workload

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

// usesConfig makes spec read ConfigMap name whole (envFrom) and key "mode" of it (env).
func usesConfig(spec *api.PodSpec, name string, optional bool) {
	c := &spec.Containers[0]
	c.EnvFrom = []api.EnvFromSource{{ConfigMapRef: &api.ConfigMapEnvSource{Name: name, Optional: optional}}}
	c.Env = []api.EnvVar{{Name: "MODE", ValueFrom: &api.EnvVarSource{
		ConfigMapKeyRef: &api.ConfigMapKeySelector{Name: name, Key: "mode", Optional: optional}}}}
}

func TestConfigHash(t *testing.T) {
	plain := fixture.Pod("p", "busybox")
	if h := ConfigHash(&plain.Spec, "default", nil); h != "" {
		t.Fatalf("spec without ConfigMaps hashes to %q, want empty", h)
	}
	pod := fixture.Pod("p", "busybox")
	usesConfig(&pod.Spec, "cfg", true)
	hashWith := func(objs ...api.Object) string { return ConfigHash(&pod.Spec, "default", fixture.Desired(1, objs...)) }
	cfg := fixture.ConfigMap("default", "cfg", map[string]string{"mode": "a", "level": "1"})
	base := hashWith(cfg)
	if len(base) != 10 {
		t.Fatalf("hash %q is not 10 characters", base)
	}
	same := fixture.ConfigMap("default", "cfg", maps.Clone(cfg.Data))
	for name, h := range map[string]string{
		"same data, other objects":     hashWith(same, fixture.ConfigMap("default", "other", map[string]string{"x": "y"}), fixture.Pod("q", "x")),
		"same name in other namespace": hashWith(cfg, fixture.ConfigMap("prod", "cfg", map[string]string{"mode": "b"})),
	} {
		if h != base {
			t.Errorf("%s: hash %s, want %s", name, h, base)
		}
	}
	distinct := map[string]string{"base": base}
	for name, h := range map[string]string{
		"value changed":  hashWith(fixture.ConfigMap("default", "cfg", map[string]string{"mode": "b", "level": "1"})),
		"key added":      hashWith(fixture.ConfigMap("default", "cfg", map[string]string{"mode": "a", "level": "1", "x": ""})),
		"configmap gone": hashWith(),
		"empty data":     hashWith(fixture.ConfigMap("default", "cfg", nil)),
	} {
		for other, oh := range distinct {
			if h == oh {
				t.Errorf("%s hashes like %s: %s", name, other, h)
			}
		}
		distinct[name] = h
	}
}

func TestDeploymentHash(t *testing.T) {
	d := fixture.Deployment("web", 1, "nginx")
	if DeploymentHash(d, "") != api.TemplateHash(&d.Spec.Template) {
		t.Fatal("without ConfigMaps the pod-template-hash must stay the template's hash")
	}
	a, b := DeploymentHash(d, "aaaaaaaaaa"), DeploymentHash(d, "bbbbbbbbbb")
	if a == b || len(a) != 10 || a == api.TemplateHash(&d.Spec.Template) {
		t.Fatalf("hashes %s, %s", a, b)
	}
	usesConfig(&d.Spec.Template.Spec, "cfg", false)
	desired := fixture.Desired(1, d, fixture.ConfigMap("default", "cfg", map[string]string{"mode": "a"}))
	if got, want := CurrentTemplateHash(d, desired), DeploymentHash(d, ConfigHash(&d.Spec.Template.Spec, "default", desired)); got != want {
		t.Fatalf("CurrentTemplateHash = %s, want %s", got, want)
	}
}

// fakePods applies planPods' decisions to an in-memory list of Pods, all made ready at once.
type fakePods struct {
	rnd      *rand.Rand
	pods     []store.Item[api.Pod]
	statuses map[api.PodKey]api.PodStatus
	rev      int64
}

// step runs one planPods pass against desired and returns how many Pods it created and removed.
func (f *fakePods) step(t *testing.T, desired map[api.Key]store.DesiredObject) (int, int) {
	t.Helper()
	create, remove := planOf(desired, f.pods, f.statuses, f.rnd)
	for _, r := range remove {
		f.pods = slices.DeleteFunc(f.pods, func(p store.Item[api.Pod]) bool { return p.Name == r.Name })
		delete(f.statuses, api.PodKeyOf(&r.Value))
	}
	for _, c := range create {
		f.rev++
		name := c.Metadata.Namespace + "/" + c.Metadata.Name
		if slices.ContainsFunc(f.pods, func(p store.Item[api.Pod]) bool { return p.Name == name }) {
			t.Fatalf("created %s, which exists", name)
		}
		f.pods = append(f.pods, store.Item[api.Pod]{Name: name, Value: *c, ModRevision: f.rev})
		f.statuses[api.PodKeyOf(c)] = api.PodStatus{Phase: api.PodRunning, Ready: true}
	}
	return len(create), len(remove)
}

// converge steps until a pass changes nothing.
func (f *fakePods) converge(t *testing.T, desired map[api.Key]store.DesiredObject) {
	t.Helper()
	for range 20 {
		if c, r := f.step(t, desired); c+r == 0 {
			return
		}
	}
	t.Fatal("no convergence after 20 passes")
}

func TestConfigMapChangeRollsDeployment(t *testing.T) {
	web := fixture.Deployment("web", 2, "nginx")
	usesConfig(&web.Spec.Template.Spec, "web-config", false)
	v1 := fixture.ConfigMap("default", "web-config", map[string]string{"mode": "slow"})
	v2 := fixture.ConfigMap("default", "web-config", map[string]string{"mode": "fast"})
	f := &fakePods{rnd: testRand(), statuses: map[api.PodKey]api.PodStatus{}}
	f.converge(t, fixture.Desired(1, web, v1))
	first := podNames(f.pods)
	hash1 := CurrentTemplateHash(web, fixture.Desired(1, web, v1))
	checkConfigPods(t, f.pods, hash1, ConfigHash(&web.Spec.Template.Spec, "default", fixture.Desired(1, web, v1)), 2)
	if c, r := f.step(t, fixture.Desired(1, web, v1, fixture.ConfigMap("default", "unrelated", nil))); c+r != 0 {
		t.Fatalf("an unrelated ConfigMap created %d and removed %d pods", c, r)
	}
	if c, r := f.step(t, fixture.Desired(1, web, v2)); c != 1 || r != 0 {
		t.Fatalf("first step after a ConfigMap change: created %d, removed %d; want a surge of one", c, r)
	}
	f.converge(t, fixture.Desired(1, web, v2))
	hash2 := CurrentTemplateHash(web, fixture.Desired(1, web, v2))
	if hash2 == hash1 {
		t.Fatal("a ConfigMap change did not change the pod-template-hash")
	}
	checkConfigPods(t, f.pods, hash2, ConfigHash(&web.Spec.Template.Spec, "default", fixture.Desired(1, web, v2)), 2)
	for _, n := range podNames(f.pods) {
		if slices.Contains(first, n) {
			t.Errorf("pod %s of the old ConfigMap survived", n)
		}
	}
}

func TestConfigMapChangeReplacesPod(t *testing.T) {
	manifest := fixture.Pod("debug", "busybox")
	usesConfig(&manifest.Spec, "dbg", true)
	f := &fakePods{rnd: testRand(), statuses: map[api.PodKey]api.PodStatus{}}
	f.converge(t, fixture.Desired(1, manifest))
	noConfig := ConfigHash(&manifest.Spec, "default", nil)
	checkConfigPods(t, f.pods, podHash(manifest), noConfig, 1)
	// The optional ConfigMap appears: the Pod is replaced under the same name.
	withConfig := fixture.Desired(1, manifest, fixture.ConfigMap("default", "dbg", map[string]string{"mode": "x"}))
	if c, r := f.step(t, withConfig); c != 1 || r != 1 {
		t.Fatalf("after the ConfigMap appeared: created %d, removed %d; want a replacement", c, r)
	}
	checkConfigPods(t, f.pods, podHash(manifest), ConfigHash(&manifest.Spec, "default", withConfig), 1)
	if f.pods[0].Value.Metadata.Name != "debug" {
		t.Fatalf("replacement named %s", f.pods[0].Value.Metadata.Name)
	}
	if c, r := f.step(t, withConfig); c+r != 0 {
		t.Fatalf("steady state created %d, removed %d", c, r)
	}
}

func checkConfigPods(t *testing.T, pods []store.Item[api.Pod], hash, configHash string, want int) {
	t.Helper()
	if len(pods) != want {
		t.Fatalf("%d pods, want %d", len(pods), want)
	}
	for _, p := range pods {
		m := p.Value.Metadata
		if m.Labels[api.LabelTemplateHash] != hash || m.Annotations[api.AnnotationConfigHash] != configHash {
			t.Errorf("pod %s: hash %s, config hash %q; want %s, %q", p.Name,
				m.Labels[api.LabelTemplateHash], m.Annotations[api.AnnotationConfigHash], hash, configHash)
		}
	}
}

func podNames(pods []store.Item[api.Pod]) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func TestUndecodableConfigMapHoldsItsWorkloads(t *testing.T) {
	web := fixture.Deployment("web", 2, "nginx")
	usesConfig(&web.Spec.Template.Spec, "web-config", false)
	v1 := fixture.ConfigMap("default", "web-config", map[string]string{"mode": "slow"})
	f := &fakePods{rnd: testRand(), statuses: map[api.PodKey]api.PodStatus{}}
	f.converge(t, fixture.Desired(1, web, v1))
	broken := fixture.Desired(1, web, v1)
	broken[api.KeyOf(v1)] = store.DesiredObject{ModRevision: 9} // a value that did not decode
	if c, r := f.step(t, broken); c+r != 0 {
		t.Fatalf("an undecodable ConfigMap created %d and removed %d pods; want none until it is repaired", c, r)
	}
}
