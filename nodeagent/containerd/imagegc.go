package containerd

import (
	"context"
	"fmt"
	"syscall"

	"github.com/containerd/errdefs"
)

// labelImported marks an image that came from an archive: it is never collected, since a node
// without a registry could not get it back.
const labelImported = "gitfleet.io/imported"

// defaultImageGCHighPercent is the disk use of containerd's snapshots past which unused images
// are removed, as the kubelet's imageGCHighThresholdPercent.
const defaultImageGCHighPercent = 85

// collectImages removes the images of gitfleet's namespace that no container uses and that
// were pulled, not imported, when the file system of containerd's snapshots is more than
// ImageGCHighPercent full (at every call when it is negative); it returns the names it removed. containerd's own garbage
// collection then frees their content and snapshots.
func (c *Runtime) collectImages(ctx context.Context) ([]string, error) {
	ctx = c.ns(ctx)
	used, err := c.snapshotDiskUse(ctx)
	if err != nil || used <= c.cfg.ImageGCHighPercent {
		return nil, err
	}
	inUse, err := c.imagesInUse(ctx)
	if err != nil {
		return nil, err
	}
	imgs, err := c.client.ImageService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var removed []string
	for _, img := range imgs {
		if inUse[img.Name] || img.Labels[labelImported] == "true" {
			continue
		}
		if err := c.client.ImageService().Delete(ctx, img.Name); err != nil && !errdefs.IsNotFound(err) {
			return removed, fmt.Errorf("remove unused image %s: %w", img.Name, err)
		}
		removed = append(removed, img.Name)
	}
	if len(removed) > 0 {
		c.log.Info("removed unused images", "disk_used_percent", used, "images", removed)
	}
	return removed, nil
}

// imagesInUse returns the images of every container of the namespace, gitfleet's or not.
func (c *Runtime) imagesInUse(ctx context.Context) (map[string]bool, error) {
	ctrs, err := c.client.ContainerService().List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	inUse := map[string]bool{}
	for _, ctr := range ctrs {
		inUse[ctr.Image] = true
	}
	return inUse, nil
}

// snapshotDiskUse returns how full, in percent, the file system of the snapshotter's root is.
func (c *Runtime) snapshotDiskUse(ctx context.Context) (int, error) {
	resp, err := c.client.IntrospectionService().Plugins(ctx,
		fmt.Sprintf(`type==io.containerd.snapshotter.v1,id==%s`, c.snapshotter))
	if err != nil {
		return 0, fmt.Errorf("find the root of snapshotter %s: %w", c.snapshotter, err)
	}
	if len(resp.Plugins) != 1 || resp.Plugins[0].Exports["root"] == "" {
		return 0, fmt.Errorf("find the root of snapshotter %s: containerd does not say", c.snapshotter)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(resp.Plugins[0].Exports["root"], &st); err != nil {
		return 0, fmt.Errorf("read disk use of snapshots: %w", err)
	}
	if st.Blocks == 0 {
		return 0, nil
	}
	return int(100 - st.Bavail*100/st.Blocks), nil
}
