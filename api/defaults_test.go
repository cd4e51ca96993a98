package api

import (
	"reflect"
	"testing"
)

func TestDefault(t *testing.T) {
	d := &Deployment{Spec: DeploymentSpec{Template: PodTemplateSpec{Spec: PodSpec{
		Containers: []Container{{Name: "c", Image: "i", Ports: []ContainerPort{{ContainerPort: 80}, {ContainerPort: 53, Protocol: ProtocolUDP}}}},
	}}}}
	Default(d)
	if d.Metadata.Namespace != DefaultNamespace || d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("metadata %+v replicas %v", d.Metadata, d.Spec.Replicas)
	}
	s := d.Spec.Template.Spec
	if s.RestartPolicy != RestartAlways || s.Containers[0].Ports[0].Protocol != ProtocolTCP || s.Containers[0].Ports[1].Protocol != ProtocolUDP {
		t.Errorf("pod spec %+v", s)
	}
	if d.Spec.Selector != nil {
		t.Errorf("selector must not be defaulted, got %+v", d.Spec.Selector)
	}

	// Set values are kept, and defaulting twice changes nothing.
	zero := int32(0)
	p := &Pod{Metadata: ObjectMeta{Namespace: "jobs"}, Spec: PodSpec{RestartPolicy: RestartNever}}
	d2 := &Deployment{Spec: DeploymentSpec{Replicas: &zero}}
	Default(p)
	Default(d2)
	if p.Metadata.Namespace != "jobs" || p.Spec.RestartPolicy != RestartNever || *d2.Spec.Replicas != 0 {
		t.Errorf("defaults overwrote set values: %+v %+v", p, d2)
	}
	before := Clone(d)
	Default(d)
	if !reflect.DeepEqual(before, d) {
		t.Errorf("Default is not idempotent")
	}

	n := &Node{}
	Default(n)
	if n.Metadata.Namespace != "" {
		t.Errorf("nodes are cluster-scoped; got namespace %q", n.Metadata.Namespace)
	}
}
