package containerd

import (
	"maps"
	"slices"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// containerEnv is the environment of container c, as Kubernetes builds it: a variable per key
// of each envFrom ConfigMap in order, then env; a later variable replaces an earlier one of the
// same name, in its place. A variable from an optional ConfigMap or key that is absent is unset.
func containerEnv(c api.Container, cms nodeagent.ConfigMaps) []string {
	var names []string
	values := map[string]string{}
	set := func(name, value string) {
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = value
	}
	for _, src := range c.EnvFrom {
		if src.ConfigMapRef == nil || cms[src.ConfigMapRef.Name] == nil {
			continue
		}
		data := cms[src.ConfigMapRef.Name].Data
		for _, k := range slices.Sorted(maps.Keys(data)) {
			set(src.Prefix+k, data[k])
		}
	}
	for _, e := range c.Env {
		if v, ok := envValue(e, cms); ok {
			set(e.Name, v)
		}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, n+"="+values[n])
	}
	return out
}

// envValue is the value of e, and false when it comes from an absent ConfigMap or key.
func envValue(e api.EnvVar, cms nodeagent.ConfigMaps) (string, bool) {
	if e.ValueFrom == nil || e.ValueFrom.ConfigMapKeyRef == nil {
		return e.Value, true
	}
	ref := e.ValueFrom.ConfigMapKeyRef
	cm := cms[ref.Name]
	if cm == nil {
		return "", false
	}
	v, ok := cm.Data[ref.Key]
	return v, ok
}
