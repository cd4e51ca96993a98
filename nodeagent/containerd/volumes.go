package containerd

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

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

// volumeDir holds the files of one volume of a Pod. The volume's name must be one path element:
// the agent validates Pods, but the path is checked where it is used, so that a name such as
// "../../../.." can never make a volume of the node's root.
func (c *Runtime) volumeDir(key api.PodKey, volume string) (string, error) {
	if err := pathElement("volume name", volume); err != nil {
		return "", err
	}
	return filepath.Join(c.podDir(key), "volumes", volume), nil
}

// pathElement checks that name, used as one element of a path on the node, stays in its
// directory: not empty, ".", "..", nor holding a separator.
func pathElement(what, name string) error {
	if !filepath.IsLocal(name) || name == "." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("%s %q would leave its directory", what, name)
	}
	return nil
}

// checkPathNames checks the names of pod that the runtime makes paths of on the node: its key
// (the pod and log directories) and its containers' and volumes' names.
func checkPathNames(pod *api.Pod) error {
	names := [][2]string{{"namespace", pod.Metadata.Namespace}, {"pod name", pod.Metadata.Name}}
	for _, c := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		names = append(names, [2]string{"container name", c.Name})
	}
	for _, v := range pod.Spec.Volumes {
		names = append(names, [2]string{"volume name", v.Name})
	}
	for _, n := range names {
		if err := pathElement(n[0], n[1]); err != nil {
			return err
		}
	}
	return nil
}

// writeVolumes writes the files of each ConfigMap volume of pod (files 0644, directories 0755).
// Each file is replaced whole, so a container never reads one half written.
func (c *Runtime) writeVolumes(pod *api.Pod, cms nodeagent.ConfigMaps) error {
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		dir, err := c.volumeDir(api.PodKeyOf(pod), v.Name)
		if err != nil {
			return err
		}
		if err := writeFiles(dir, volumeFiles(v.ConfigMap, cms[v.ConfigMap.Name])); err != nil {
			return fmt.Errorf("write volume %s: %w", v.Name, err)
		}
	}
	return nil
}

// writeFiles writes files, by slash path, under dir. It works through an os.Root of dir, which
// refuses any path that leaves dir, by ".." or through a symlink.
func writeFiles(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		name := filepath.FromSlash(rel)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("file %q would leave the volume", rel)
		}
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
		if err := replaceFile(root, name, []byte(files[rel])); err != nil {
			return err
		}
	}
	return nil
}

// replaceFile writes data to a temporary file beside name in root, then renames it over name.
func replaceFile(root *os.Root, name string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(name), ".tmp-"+rand.Text())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chmod(tmp, 0o644) // whatever the umask
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		root.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// removeVolumes removes the Pod's directory with its volumes and resolv.conf; a missing one is
// no error.
func (c *Runtime) removeVolumes(key api.PodKey) error {
	if err := c.unmountVolumes(key); err != nil {
		return fmt.Errorf("remove volumes: %w", err)
	}
	if err := os.RemoveAll(c.podDir(key)); err != nil {
		return fmt.Errorf("remove volumes: %w", err)
	}
	return nil
}

// volumeMounts bind-mounts each volume (or the subPath within it) that ctr mounts: ConfigMap
// volumes and mounts marked readOnly read-only, emptyDir volumes read-write.
// A subPath that the volume lacks (its key was optional) is created as an empty directory, as
// Kubernetes does.
func (c *Runtime) volumeMounts(pod *api.Pod, ctr api.Container) ([]specs.Mount, error) {
	declared := map[string]bool{}
	writable := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		declared[v.Name], writable[v.Name] = true, v.EmptyDir != nil
	}
	var mounts []specs.Mount
	for _, m := range ctr.VolumeMounts {
		if !declared[m.Name] {
			return nil, fmt.Errorf("mount of volume %q, which the pod does not declare", m.Name)
		}
		src, err := c.mountSource(api.PodKeyOf(pod), m)
		if err != nil {
			return nil, err
		}
		mode := "ro"
		if writable[m.Name] && !m.ReadOnly {
			mode = "rw"
		}
		mounts = append(mounts, specs.Mount{Destination: m.MountPath, Type: "bind", Source: src,
			Options: []string{"rbind", mode}})
	}
	return mounts, nil
}

// mountSource is the path on the node that m mounts: its volume's directory, or the subPath
// within it, made when missing. The subPath is made through an os.Root and returned with its
// symlinks resolved, checked to be inside the volume: a bind mount follows symlinks, so the
// path the mount is given must already be the one it reaches.
func (c *Runtime) mountSource(key api.PodKey, m api.VolumeMount) (string, error) {
	dir, err := c.volumeDir(key, m.Name)
	if err != nil {
		return "", err
	}
	if err := ensureSource(dir); err != nil || m.SubPath == "" {
		return dir, err
	}
	sub := filepath.FromSlash(m.SubPath)
	if !filepath.IsLocal(sub) {
		return "", fmt.Errorf("subPath %q would leave volume %s", m.SubPath, m.Name)
	}
	if err := ensureSubPath(dir, sub); err != nil {
		return "", fmt.Errorf("subPath %q of volume %s: %w", m.SubPath, m.Name, err)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("mount source: %w", err)
	}
	src, err := filepath.EvalSymlinks(filepath.Join(dir, sub))
	if err != nil {
		return "", fmt.Errorf("mount source: %w", err)
	}
	if rel, err := filepath.Rel(realDir, src); err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("subPath %q of volume %s leads out of the volume, to %s", m.SubPath, m.Name, src)
	}
	return src, nil
}

// ensureSubPath makes sub, a directory under dir, unless it exists; through an os.Root, so
// neither can leave dir.
func ensureSubPath(dir, sub string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	_, err = root.Stat(sub)
	if errors.Is(err, fs.ErrNotExist) {
		err = root.MkdirAll(sub, 0o755)
	}
	return err
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
