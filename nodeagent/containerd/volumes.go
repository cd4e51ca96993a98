package containerd

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
)

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
func (c *Runtime) podDir(key api.PodKey) string {
	return filepath.Join(c.cfg.DataDir, "pods", sandboxID(key))
}

// volumeDir holds the files of one volume of a Pod.
func (c *Runtime) volumeDir(key api.PodKey, volume string) string {
	return filepath.Join(c.podDir(key), "volumes", volume)
}

// writeVolumes writes the files of each ConfigMap volume of pod (files 0644, directories 0755).
// Each file is replaced whole, so a container never reads one half written.
func (c *Runtime) writeVolumes(pod *api.Pod, cms nodeagent.ConfigMaps) error {
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
func (c *Runtime) removeVolumes(key api.PodKey) error {
	if err := os.RemoveAll(c.podDir(key)); err != nil {
		return fmt.Errorf("remove volumes: %w", err)
	}
	return nil
}

// volumeMounts bind-mounts, read-only, each volume (or the subPath within it) that ctr mounts.
// A subPath that the volume lacks (its key was optional) is created as an empty directory, as
// Kubernetes does.
func (c *Runtime) volumeMounts(pod *api.Pod, ctr api.Container) ([]specs.Mount, error) {
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
