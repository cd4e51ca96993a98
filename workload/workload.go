package workload

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// This file is the pure core of the workload controller: desired objects and live Pods in,
// Pods to create and Pods to remove out. No I/O, no clock; names draw on an injected rand.

// Owner is the value of the owner annotation gitfleet puts on the Pods it makes for key.
func Owner(key api.Key) string { return key.String() }

// parseOwner reads an owner annotation back into a key.
func parseOwner(s string) (api.Key, bool) {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return api.Key{}, false
	}
	return api.Key{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, true
}

// ReconcilePod decides the Pod object of a Pod manifest: the same name, owned by the manifest,
// replaced (removed, then created) when the manifest's spec, labels or annotations change, or
// when configHash (ConfigHash of its spec, recorded in the config-hash annotation) does. pods
// are the Pods whose owner annotation names desired.
func ReconcilePod(desired *api.Pod, configHash string, pods []store.Item[api.Pod]) (create *api.Pod, remove []store.Item[api.Pod]) {
	owner := Owner(api.KeyOf(desired))
	hash := podHash(desired)
	kept := false
	for _, p := range pods {
		m := p.Value.Metadata
		if m.Annotations[api.AnnotationOwner] != owner {
			continue
		}
		if m.Name == desired.Metadata.Name && m.Labels[api.LabelTemplateHash] == hash &&
			m.Annotations[api.AnnotationConfigHash] == configHash && !kept {
			kept = true
			continue
		}
		remove = append(remove, p)
	}
	if kept {
		return nil, remove
	}
	p := &api.Pod{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: podMeta(desired.Metadata, podOrigin{owner, hash, configHash},
			desired.Metadata.Annotations[api.AnnotationCommit]),
		Spec: desired.Spec,
	}
	p.Metadata.Name, p.Metadata.Namespace = desired.Metadata.Name, desired.Metadata.Namespace
	return api.Clone(p).(*api.Pod), remove
}

// podHash hashes what a Pod manifest asks for, leaving out the annotations that say where it
// came from, so a commit that touches nothing else keeps the Pod running.
func podHash(p *api.Pod) string {
	t := api.PodTemplateSpec{Metadata: api.ObjectMeta{Labels: p.Metadata.Labels,
		Annotations: maps.Clone(p.Metadata.Annotations)}, Spec: p.Spec}
	delete(t.Metadata.Annotations, api.AnnotationCommit)
	delete(t.Metadata.Annotations, api.AnnotationSource)
	return api.TemplateHash(&t)
}

// ConfigHash is a short hash of the data of every ConfigMap spec references, as found among the
// desired objects in namespace; "" when spec references none. A change to the data of any of
// them, or one appearing or going (an optional one), changes it.
func ConfigHash(spec *api.PodSpec, namespace string, desired map[api.Key]store.DesiredObject) string {
	names := api.ConfigMapNames(spec)
	if len(names) == 0 {
		return ""
	}
	h := sha256.New()
	for _, name := range names {
		var data map[string]string // null when absent, {} when empty
		if cm, ok := desired[api.Key{Kind: api.KindConfigMap, Namespace: namespace, Name: name}].Object.(*api.ConfigMap); ok {
			data = cm.Data
			if data == nil {
				data = map[string]string{}
			}
		}
		b, err := json.Marshal([]any{name, data}) // encoding/json sorts map keys
		if err != nil {
			panic(fmt.Sprintf("reconciler.ConfigHash: %v", err)) // strings always marshal
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:5])
}

// DeploymentHash is the pod-template-hash of d's current Pods: api.TemplateHash of its
// template, or, when configHash is not "", a hash of both.
func DeploymentHash(d *api.Deployment, configHash string) string {
	hash := api.TemplateHash(&d.Spec.Template)
	if configHash == "" {
		return hash
	}
	sum := sha256.Sum256([]byte(hash + "/" + configHash))
	return hex.EncodeToString(sum[:5])
}

// CurrentTemplateHash is the pod-template-hash of d's current Pods given the desired objects,
// which hold the ConfigMaps its template uses.
func CurrentTemplateHash(d *api.Deployment, desired map[api.Key]store.DesiredObject) string {
	return DeploymentHash(d, ConfigHash(&d.Spec.Template.Spec, d.Metadata.Namespace, desired))
}

// deploymentPod makes a new Pod of d from template t: d's own, or an older one's record.
func deploymentPod(d *api.Deployment, t api.PodTemplateSpec, origin podOrigin, rnd *rand.Rand) *api.Pod {
	p := &api.Pod{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: podMeta(t.Metadata, origin, d.Metadata.Annotations[api.AnnotationCommit]),
		Spec:     t.Spec,
	}
	p.Metadata.Name = d.Metadata.Name + "-" + origin.hash + "-" + suffix(rnd)
	p.Metadata.Namespace = d.Metadata.Namespace
	return api.Clone(p).(*api.Pod) // share no slices or maps with the template
}

// podOrigin is what a workload Pod records of what it was made from.
type podOrigin struct {
	owner      string // the owner annotation
	hash       string // the pod-template-hash label
	configHash string // the config-hash annotation; "" for none
}

// podMeta copies labels and annotations from m and adds the hash label, owner, config hash and
// commit.
func podMeta(m api.ObjectMeta, origin podOrigin, commit string) api.ObjectMeta {
	out := api.ObjectMeta{Labels: maps.Clone(m.Labels), Annotations: maps.Clone(m.Annotations)}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Labels[api.LabelTemplateHash] = origin.hash
	out.Annotations[api.AnnotationOwner] = origin.owner
	delete(out.Annotations, api.AnnotationSource)
	delete(out.Annotations, api.AnnotationConfigHash)
	if origin.configHash != "" {
		out.Annotations[api.AnnotationConfigHash] = origin.configHash
	}
	if commit != "" {
		out.Annotations[api.AnnotationCommit] = commit
	}
	return out
}

const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789" // no vowels: no words by chance

// suffix returns five random lowercase alphanumerics.
func suffix(rnd *rand.Rand) string {
	b := make([]byte, 5)
	for i := range b {
		b[i] = suffixAlphabet[rnd.IntN(len(suffixAlphabet))]
	}
	return string(b)
}

// CurrentHash is the pod-template-hash of the current Pods of obj given the desired objects,
// which hold the ConfigMaps it reads; "" for kinds that make no Pods.
func CurrentHash(obj api.Object, desired map[api.Key]store.DesiredObject) string {
	switch o := obj.(type) {
	case *api.Deployment:
		return CurrentTemplateHash(o, desired)
	case *api.Pod:
		return podHash(o)
	}
	return ""
}

// CurrentHashes is CurrentHash of every desired object that makes Pods, for health.Input.
func CurrentHashes(desired map[api.Key]store.DesiredObject) map[api.Key]string {
	out := map[api.Key]string{}
	for k, d := range desired {
		if d.Object != nil && api.PodSpecOf(d.Object) != nil {
			out[k] = CurrentHash(d.Object, desired)
		}
	}
	return out
}
