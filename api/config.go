package api

import (
	"fmt"
	"maps"
	"slices"
)

// Namespace groups namespaced objects (v1). It is cluster-scoped: its key has Namespace "".
// Objects in any namespace but DefaultNamespace need a Namespace of that name in the repository.
type Namespace struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
}

// MaxConfigMapBytes bounds the total size of a ConfigMap's keys and values, as in Kubernetes.
const MaxConfigMapBytes = 1 << 20

// ConfigMap holds configuration as text, for Pods to read as environment variables or files
// (v1). binaryData and immutable are not supported.
type ConfigMap struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta        `json:"metadata"`
	Data     map[string]string `json:"data,omitempty"`
}

// GetTypeMeta implements Object.
func (n *Namespace) GetTypeMeta() TypeMeta { return n.TypeMeta }

// GetMeta implements Object.
func (n *Namespace) GetMeta() *ObjectMeta { return &n.Metadata }

// GetTypeMeta implements Object.
func (c *ConfigMap) GetTypeMeta() TypeMeta { return c.TypeMeta }

// GetMeta implements Object.
func (c *ConfigMap) GetMeta() *ObjectMeta { return &c.Metadata }

// ConfigMapRef is one use of a ConfigMap by a Pod spec. Field paths are relative to the spec.
type ConfigMapRef struct {
	Name string
	// Field is the path of the reference's name, such as "volumes[0].configMap.name".
	Field    string
	Optional bool
	// Keys are the keys the reference reads; nil when it reads every key.
	Keys []ConfigMapRefKey
}

// ConfigMapRefKey is one key a ConfigMapRef reads, with the path of the field that names it.
type ConfigMapRefKey struct {
	Key, Field string
}

// ConfigMapRefs lists every reference of s to a ConfigMap, in the order of the spec: each
// container's envFrom, then its env, then the init containers' likewise, then the volumes.
func ConfigMapRefs(s *PodSpec) []ConfigMapRef {
	refs := containerRefs(nil, "containers", s.Containers)
	refs = containerRefs(refs, "initContainers", s.InitContainers)
	for i, v := range s.Volumes {
		if v.ConfigMap != nil {
			refs = append(refs, volumeRef(fmt.Sprintf("volumes[%d].configMap", i), v.ConfigMap))
		}
	}
	return refs
}

func containerRefs(refs []ConfigMapRef, field string, ctrs []Container) []ConfigMapRef {
	for i := range ctrs {
		c := &ctrs[i]
		for j, e := range c.EnvFrom {
			if r := e.ConfigMapRef; r != nil {
				p := fmt.Sprintf("%s[%d].envFrom[%d].configMapRef", field, i, j)
				refs = append(refs, ConfigMapRef{Name: r.Name, Field: p + ".name", Optional: r.Optional})
			}
		}
		for j, e := range c.Env {
			if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
				continue
			}
			r := e.ValueFrom.ConfigMapKeyRef
			p := fmt.Sprintf("%s[%d].env[%d].valueFrom.configMapKeyRef", field, i, j)
			refs = append(refs, ConfigMapRef{Name: r.Name, Field: p + ".name", Optional: r.Optional,
				Keys: []ConfigMapRefKey{{Key: r.Key, Field: p + ".key"}}})
		}
	}
	return refs
}

func volumeRef(path string, v *ConfigMapVolumeSource) ConfigMapRef {
	r := ConfigMapRef{Name: v.Name, Field: path + ".name", Optional: v.Optional}
	for j, it := range v.Items {
		r.Keys = append(r.Keys, ConfigMapRefKey{Key: it.Key, Field: fmt.Sprintf("%s.items[%d].key", path, j)})
	}
	return r
}

// ConfigMapNames returns the sorted, distinct names of the ConfigMaps s references.
func ConfigMapNames(s *PodSpec) []string {
	set := map[string]bool{}
	for _, r := range ConfigMapRefs(s) {
		set[r.Name] = true
	}
	return slices.Sorted(maps.Keys(set))
}
