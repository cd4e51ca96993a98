package nodeagent

import (
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestSpecHash(t *testing.T) {
	base := testPod("web", "", "app")
	h := SpecHash(base)
	same := map[string]func(p *api.Pod){
		"restart policy": func(p *api.Pod) { p.Spec.RestartPolicy = api.RestartNever },
		"node name":      func(p *api.Pod) { p.Spec.NodeName = "n1" },
		"labels":         func(p *api.Pod) { p.Metadata.Labels = map[string]string{"a": "b"} },
		"defaulted protocol": func(p *api.Pod) {
			p.Spec.Containers[0].Ports = []api.ContainerPort{{ContainerPort: 80, Protocol: api.ProtocolTCP}}
		},
	}
	withPort := api.Clone(base).(*api.Pod)
	withPort.Spec.Containers[0].Ports = []api.ContainerPort{{ContainerPort: 80}}
	for name, edit := range same {
		p := api.Clone(base).(*api.Pod)
		edit(p)
		want := h
		if name == "defaulted protocol" {
			want = SpecHash(withPort)
		}
		if SpecHash(p) != want {
			t.Errorf("%s changed the spec hash", name)
		}
	}
	differ := map[string]func(p *api.Pod){
		"args":         func(p *api.Pod) { p.Spec.Containers[0].Args = []string{"x"} },
		"image":        func(p *api.Pod) { p.Spec.Containers[0].Image = "other" },
		"env":          func(p *api.Pod) { p.Spec.Containers[0].Env = []api.EnvVar{{Name: "A", Value: "1"}} },
		"limits":       func(p *api.Pod) { p.Spec.Containers[0].Resources.Limits = api.ResourceList{"cpu": "1"} },
		"host network": func(p *api.Pod) { p.Spec.HostNetwork = true },
	}
	for name, edit := range differ {
		p := api.Clone(base).(*api.Pod)
		edit(p)
		if SpecHash(p) == h {
			t.Errorf("%s did not change the spec hash", name)
		}
	}
	if len(h) != 16 {
		t.Errorf("hash %q should be 16 hex digits", h)
	}
}
