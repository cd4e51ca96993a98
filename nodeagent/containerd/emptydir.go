package containerd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gitfleet/gitfleet/api"
)

// writeEmptyDirs makes the Pod's emptyDir volumes, once: a directory under the Pod's directory
// that every user of the Pod's containers may write (as Kubernetes makes them), with a tmpfs
// mounted on it for medium Memory, of SizeLimit bytes when set. The containers share it: an
// init container's files are there for the app's.
func (c *Runtime) writeEmptyDirs(pod *api.Pod) error {
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir == nil {
			continue
		}
		dir, err := c.volumeDir(api.PodKeyOf(pod), v.Name)
		if err != nil {
			return err
		}
		if err := makeEmptyDir(dir, v.EmptyDir); err != nil {
			return fmt.Errorf("make emptyDir volume %s: %w", v.Name, err)
		}
	}
	return nil
}

func makeEmptyDir(dir string, src *api.EmptyDirVolumeSource) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	if src.Medium != api.StorageMediumMemory {
		return os.Chmod(dir, 0o777) // whatever the umask
	}
	mounted, err := isMountPoint(dir)
	if err != nil || mounted {
		return err
	}
	data := "mode=0777"
	if src.SizeLimit != "" {
		size, err := api.ParseMemory(src.SizeLimit)
		if err != nil {
			return err
		}
		data += fmt.Sprintf(",size=%d", size)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, data); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	return nil
}

// isMountPoint reports whether dir is on another device than its parent.
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return false, err
	}
	if err := syscall.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// unmountVolumes unmounts the tmpfs of each memory emptyDir of the Pod, so that its directory
// can be removed; a volume that is no mount point is left alone.
func (c *Runtime) unmountVolumes(key api.PodKey) error {
	dir := filepath.Join(c.podDir(key), "volumes")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list volumes: %w", err)
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if mounted, err := isMountPoint(p); err == nil && mounted {
			if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("unmount volume %s: %w", e.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}
