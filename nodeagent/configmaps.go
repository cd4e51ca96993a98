package nodeagent

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// ConfigMaps are the ConfigMaps a Pod's spec references, by name, all of the Pod's namespace.
// One that does not exist (allowed when every reference to it is optional) has no entry.
type ConfigMaps map[string]*api.ConfigMap

// ConfigError means a Pod cannot be created because a ConfigMap, or a key of one, that it
// needs does not exist. The agent reports Message as the Pod's status and retries.
type ConfigError struct {
	Message string
}

func (e *ConfigError) Error() string { return e.Message }

// ConfigRuntime is a Runtime that gives containers the ConfigMaps their Pod reads: as
// environment variables (env valueFrom, envFrom) and as files in read-only volumes. *Containerd
// implements it.
type ConfigRuntime interface {
	Runtime
	// EnsurePodConfig is EnsurePod with the Pod's ConfigMaps, as ResolveConfigMaps returns them.
	// It fails with a *ConfigError, creating nothing, when one the Pod needs is not in cms.
	EnsurePodConfig(ctx context.Context, pod *api.Pod, cms ConfigMaps) (podIP string, err error)
}

var _ ConfigRuntime = (*Containerd)(nil)

// ResolveConfigMaps picks the ConfigMaps pod references out of the desired objects and checks
// that every ConfigMap and key it needs is there. It returns a *ConfigError when one is not.
func ResolveConfigMaps(pod *api.Pod, desired map[api.Key]store.DesiredObject) (ConfigMaps, error) {
	cms := ConfigMaps{}
	for _, name := range api.ConfigMapNames(&pod.Spec) {
		k := api.Key{Kind: api.KindConfigMap, Namespace: pod.Metadata.Namespace, Name: name}
		if cm, ok := desired[k].Object.(*api.ConfigMap); ok {
			cms[name] = cm
		}
	}
	return cms, checkConfigMaps(pod, cms)
}

// checkConfigMaps returns a *ConfigError for the first ConfigMap or key pod needs that cms lacks.
func checkConfigMaps(pod *api.Pod, cms ConfigMaps) error {
	for _, r := range api.ConfigMapRefs(&pod.Spec) {
		if r.Optional {
			continue
		}
		cm, ok := cms[r.Name]
		if !ok {
			return &ConfigError{Message: fmt.Sprintf("configmap %q not found", r.Name)}
		}
		for _, k := range r.Keys {
			if _, ok := cm.Data[k.Key]; !ok {
				return &ConfigError{Message: fmt.Sprintf("configmap %q has no key %q", r.Name, k.Key)}
			}
		}
	}
	return nil
}

// usesConfigMaps reports whether pod references any ConfigMap.
func usesConfigMaps(pod *api.Pod) bool { return len(api.ConfigMapRefs(&pod.Spec)) > 0 }

// containerEnv is the environment of container c, as Kubernetes builds it: a variable per key
// of each envFrom ConfigMap in order, then env; a later variable replaces an earlier one of the
// same name, in its place. A variable from an optional ConfigMap or key that is absent is unset.
func containerEnv(c api.Container, cms ConfigMaps) []string {
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
func envValue(e api.EnvVar, cms ConfigMaps) (string, bool) {
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

// volumeFiles maps each file of a ConfigMap volume, by its slash path within the volume, to its
// content: every key of cm, or each item whose key cm has. A nil cm gives no files.
func volumeFiles(src *api.ConfigMapVolumeSource, cm *api.ConfigMap) map[string]string {
	files := map[string]string{}
	if cm == nil {
		return files
	}
	if len(src.Items) == 0 {
		maps.Copy(files, cm.Data)
		return files
	}
	for _, it := range src.Items {
		if v, ok := cm.Data[it.Key]; ok {
			files[it.Path] = v
		}
	}
	return files
}

// podDir holds what the agent keeps on disk for a Pod besides logs: <DataDir>/pods/<ns>_<pod>.
func (c *Containerd) podDir(key api.PodKey) string {
	return filepath.Join(c.cfg.DataDir, "pods", sandboxID(key))
}

// volumeDir holds the files of one volume of a Pod.
func (c *Containerd) volumeDir(key api.PodKey, volume string) string {
	return filepath.Join(c.podDir(key), "volumes", volume)
}

// writeVolumes writes the files of each ConfigMap volume of pod (files 0644, directories 0755).
// Each file is replaced whole, so a container never reads one half written.
func (c *Containerd) writeVolumes(pod *api.Pod, cms ConfigMaps) error {
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		dir := c.volumeDir(api.PodKeyOf(pod), v.Name)
		if err := writeFiles(dir, volumeFiles(v.ConfigMap, cms[v.ConfigMap.Name])); err != nil {
			return fmt.Errorf("write volume %s: %w", v.Name, err)
		}
	}
	return nil
}

func writeFiles(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return fmt.Errorf("file %q would leave the volume", rel)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := replaceFile(p, []byte(files[rel])); err != nil {
			return err
		}
	}
	return nil
}

// replaceFile writes data to a temporary file beside p, then renames it over p.
func replaceFile(p string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// removeVolumes removes the Pod's directory with its volumes; a missing one is no error.
func (c *Containerd) removeVolumes(key api.PodKey) error {
	if err := os.RemoveAll(c.podDir(key)); err != nil {
		return fmt.Errorf("remove volumes: %w", err)
	}
	return nil
}

// volumeMounts bind-mounts, read-only, each volume (or the subPath within it) that ctr mounts.
// A subPath that the volume lacks (its key was optional) is created as an empty directory, as
// Kubernetes does.
func (c *Containerd) volumeMounts(pod *api.Pod, ctr api.Container) ([]specs.Mount, error) {
	declared := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		declared[v.Name] = true
	}
	var mounts []specs.Mount
	for _, m := range ctr.VolumeMounts {
		if !declared[m.Name] {
			return nil, fmt.Errorf("mount of volume %q, which the pod does not declare", m.Name)
		}
		src := c.volumeDir(api.PodKeyOf(pod), m.Name)
		if m.SubPath != "" {
			if !filepath.IsLocal(filepath.FromSlash(m.SubPath)) {
				return nil, fmt.Errorf("subPath %q would leave volume %s", m.SubPath, m.Name)
			}
			src = filepath.Join(src, filepath.FromSlash(m.SubPath))
		}
		if err := ensureSource(src); err != nil {
			return nil, err
		}
		mounts = append(mounts, specs.Mount{Destination: m.MountPath, Type: "bind", Source: src,
			Options: []string{"rbind", "ro"}})
	}
	return mounts, nil
}

func ensureSource(src string) error {
	_, err := os.Stat(src)
	if os.IsNotExist(err) {
		err = os.MkdirAll(src, 0o755)
	}
	if err != nil {
		return fmt.Errorf("mount source: %w", err)
	}
	return nil
}
