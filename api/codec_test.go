package api

import (
	"reflect"
	"testing"
)

func TestClone(t *testing.T) {
	d := mustDecodeOne(t, "x.yaml", validDeployment).Object.(*Deployment)
	c := Clone(d).(*Deployment)
	if !reflect.DeepEqual(d, c) {
		t.Fatalf("clone differs")
	}
	*c.Spec.Replicas = 9
	c.Spec.Template.Metadata.Labels["app"] = "changed"
	c.Spec.Template.Spec.Containers[0].Env[0].Value = "changed"
	if *d.Spec.Replicas != 2 || d.Spec.Template.Metadata.Labels["app"] != "web" || d.Spec.Template.Spec.Containers[0].Env[0].Value != "1" {
		t.Errorf("clone shares memory with the original")
	}
	if Clone(&Pod{}) == nil || Clone(nil) != nil {
		t.Errorf("Clone of an empty pod or nil")
	}
}

func TestTemplateHash(t *testing.T) {
	d := mustDecodeOne(t, "x.yaml", validDeployment).Object.(*Deployment)
	h := TemplateHash(&d.Spec.Template)
	if len(h) != 10 {
		t.Fatalf("hash %q is not 10 characters", h)
	}
	for range 20 { // map order must not matter
		if TemplateHash(&Clone(d).(*Deployment).Spec.Template) != h {
			t.Fatal("hash is not stable")
		}
	}
	// Pinned: a change here rolls every Deployment on upgrade; do it only on purpose.
	if h != pinnedTemplateHash {
		t.Errorf("TemplateHash = %s, pinned %s", h, pinnedTemplateHash)
	}
	c := Clone(d).(*Deployment)
	c.Spec.Template.Spec.Containers[0].Image = "busybox:1.37"
	if TemplateHash(&c.Spec.Template) == h {
		t.Errorf("image change did not change the hash")
	}
	c = Clone(d).(*Deployment)
	*c.Spec.Replicas = 5
	if TemplateHash(&c.Spec.Template) != h {
		t.Errorf("replicas are not part of the template")
	}
}

const pinnedTemplateHash = "f72af7fc1d"
