package api

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api/internal/strict"
)

// This file validates Namespaces, ConfigMaps and the parts of a Pod spec that use ConfigMaps:
// env valueFrom, envFrom, volumes and volume mounts.

// namespaceMeta checks the metadata of a cluster-scoped Namespace: its name is a DNS label.
func (v *validator) namespaceMeta(path string, m *ObjectMeta) {
	if m.Name == "" {
		v.add(path+".name", "required")
	} else {
		v.check(path+".name", checkLabel(m.Name))
	}
	if m.Namespace != "" {
		v.add(path+".namespace", "must be empty: a Namespace is cluster-scoped")
	}
	v.labels(path+".labels", m.Labels)
	v.annotations(path+".annotations", m.Annotations)
}

// configMapData checks every key and the total size of a ConfigMap's data.
func (v *validator) configMapData(path string, data map[string]string) {
	total := 0
	for _, k := range slices.Sorted(maps.Keys(data)) {
		v.check(strict.JoinKey(path, k), checkConfigMapKey(k))
		total += len(k) + len(data[k])
	}
	if total > MaxConfigMapBytes {
		v.add(path, "data is %d bytes; the limit is %d", total, MaxConfigMapBytes)
	}
}

func (v *validator) envVar(path string, e *EnvVar) {
	switch {
	case e.Name == "":
		v.add(path+".name", "required")
	default:
		v.check(path+".name", checkEnvName(e.Name))
	}
	if e.ValueFrom == nil {
		return
	}
	if e.Value != "" {
		v.add(path+".valueFrom", "may not be set when value is")
	}
	ref := e.ValueFrom.ConfigMapKeyRef
	if ref == nil {
		v.add(path+".valueFrom", "configMapKeyRef is required: it is the only source gitfleet supports")
		return
	}
	p := path + ".valueFrom.configMapKeyRef"
	v.refName(p+".name", ref.Name)
	v.refKey(p+".key", ref.Key)
}

func (v *validator) envFrom(path string, e *EnvFromSource) {
	if strings.Contains(e.Prefix, "=") {
		v.add(path+".prefix", "invalid prefix %q: must not contain '='", e.Prefix)
	}
	if e.ConfigMapRef == nil {
		v.add(path+".configMapRef", "required: it is the only source gitfleet supports")
		return
	}
	v.refName(path+".configMapRef.name", e.ConfigMapRef.Name)
}

// refName checks the name of a referenced ConfigMap.
func (v *validator) refName(path, name string) {
	if name == "" {
		v.add(path, "required")
		return
	}
	v.check(path, checkSubdomain(name))
}

// refKey checks a referenced ConfigMap key.
func (v *validator) refKey(path, key string) {
	if key == "" {
		v.add(path, "required")
		return
	}
	v.check(path, checkConfigMapKey(key))
}

// volumes checks the Pod's volumes and returns the names declared.
func (v *validator) volumes(path string, vols []Volume) map[string]bool {
	names := map[string]bool{}
	for i := range vols {
		vol := &vols[i]
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case vol.Name == "":
			v.add(p+".name", "required")
		case names[vol.Name]:
			v.add(p+".name", "duplicate volume name %q", vol.Name)
		default:
			v.check(p+".name", checkLabel(vol.Name))
		}
		names[vol.Name] = true
		switch {
		case vol.ConfigMap != nil && vol.EmptyDir != nil:
			v.add(p, "one volume source only: configMap or emptyDir")
		case vol.ConfigMap != nil:
			v.configMapVolume(p+".configMap", vol.ConfigMap)
		case vol.EmptyDir != nil:
			v.emptyDir(p+".emptyDir", vol.EmptyDir)
		default:
			v.add(p, "a volume source is required: gitfleet supports configMap and emptyDir")
		}
	}
	return names
}

func (v *validator) configMapVolume(path string, s *ConfigMapVolumeSource) {
	v.refName(path+".name", s.Name)
	paths := map[string]int{}
	for j, it := range s.Items {
		p := fmt.Sprintf("%s.items[%d]", path, j)
		v.refKey(p+".key", it.Key)
		v.check(p+".path", checkRelativePath(it.Path))
		if first, dup := paths[it.Path]; dup {
			v.add(p+".path", "duplicate path %q; items[%d] has it too", it.Path, first)
			continue
		}
		paths[it.Path] = j
	}
}

// volumeMounts checks a container's mounts against the volumes the Pod declares.
func (v *validator) volumeMounts(fieldPath string, mounts []VolumeMount, volumes map[string]bool) {
	targets := map[string]int{}
	for i, m := range mounts {
		p := fmt.Sprintf("%s[%d]", fieldPath, i)
		switch {
		case m.Name == "":
			v.add(p+".name", "required")
		case !volumes[m.Name]:
			v.add(p+".name", "no volume named %q in the pod's volumes", m.Name)
		}
		switch mp := path.Clean(m.MountPath); {
		case m.MountPath == "":
			v.add(p+".mountPath", "required")
		case !strings.HasPrefix(m.MountPath, "/"):
			v.add(p+".mountPath", "must be an absolute path, not %q", m.MountPath)
		case mp == "/":
			v.add(p+".mountPath", "must not be the container's root")
		default:
			if first, dup := targets[mp]; dup {
				v.add(p+".mountPath", "%s is already mounted by volumeMounts[%d]", mp, first)
			}
			targets[mp] = i
		}
		if m.SubPath != "" {
			v.check(p+".subPath", checkRelativePath(m.SubPath))
		}
	}
}
