package containerd

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
)

// image returns image ref, available and unpacked in gitfleet's containerd namespace: an image
// already there (imported or pulled before) is used as is, any other is pulled. Registries on
// loopback are reached over plain HTTP.
func (c *Runtime) image(ctx context.Context, ref string) (client.Image, error) {
	ctx = c.ns(ctx)
	name, err := normalizeRef(ref)
	if err != nil {
		return nil, err
	}
	img, err := c.client.GetImage(ctx, name)
	if errdefs.IsNotFound(err) {
		return c.pull(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("look up image %s: %w", name, err)
	}
	return img, c.unpack(ctx, img)
}

// normalizeRef expands a short reference as Docker does: "busybox" is docker.io/library/busybox:latest.
func normalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

func (c *Runtime) pull(ctx context.Context, name string) (client.Image, error) {
	c.log.Info("pulling image", "image", name)
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchLocalhost)),
	})
	img, err := c.client.Pull(ctx, name, client.WithResolver(resolver), client.WithPullUnpack,
		client.WithPullSnapshotter(c.snapshotter))
	if err != nil {
		return nil, fmt.Errorf("pull image %s: %w", name, err)
	}
	return img, nil
}

func (c *Runtime) unpack(ctx context.Context, img client.Image) error {
	ok, err := img.IsUnpacked(ctx, c.snapshotter)
	if err != nil {
		return fmt.Errorf("check image %s: %w", img.Name(), err)
	}
	if ok {
		return nil
	}
	if err := img.Unpack(ctx, c.snapshotter); err != nil {
		return fmt.Errorf("unpack image %s: %w", img.Name(), err)
	}
	return nil
}

// ImportArchive imports the images of an OCI layout or docker save tar archive into gitfleet's
// containerd namespace, unpacks them and returns their names. Images are named by the index's
// io.containerd.image.name or org.opencontainers.image.ref.name annotations (docker archives:
// their repo tags).
func (c *Runtime) ImportArchive(ctx context.Context, path string) ([]string, error) {
	ctx = c.ns(ctx)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import images: %w", err)
	}
	defer f.Close()
	imported, err := c.client.Import(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("import images from %s: %w", path, err)
	}
	names := make([]string, 0, len(imported))
	for _, meta := range imported {
		if err := c.unpack(ctx, client.NewImage(c.client, meta)); err != nil {
			return names, err
		}
		names = append(names, meta.Name)
	}
	c.log.Info("imported images", "archive", path, "images", names)
	return names, nil
}
