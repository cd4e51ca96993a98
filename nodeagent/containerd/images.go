package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// image returns the image of ctr, available and unpacked in gitfleet's containerd namespace, as
// its pull policy says: IfNotPresent uses an image already there (imported or pulled before)
// and pulls any other; Always pulls (fetching only what changed); Never fails with
// ErrImageNeverPull for an image that is not there.
func (c *Runtime) image(ctx context.Context, ctr api.Container) (client.Image, error) {
	ctx = c.ns(ctx)
	name, err := normalizeRef(ctr.Image)
	if err != nil {
		return nil, err
	}
	policy := ctr.PullPolicy()
	if policy != api.PullAlways {
		img, err := c.localImage(ctx, name, ctr.Image)
		switch {
		case err == nil:
			return img, c.unpack(ctx, img)
		case !errdefs.IsNotFound(err):
			return nil, err
		case policy == api.PullNever:
			return nil, &nodeagent.RefusedError{Reason: api.ReasonErrImageNeverPull, Message: fmt.Sprintf(
				"container %s: image %s is not on the node and imagePullPolicy is Never", ctr.Name, name)}
		}
	}
	img, err := c.pull(ctx, name)
	if err != nil {
		return nil, &nodeagent.RefusedError{Reason: api.ReasonErrImagePull,
			Message: fmt.Sprintf("container %s: %v", ctr.Name, err)}
	}
	return img, nil
}

// localImage looks the image up by its normalised name, then by the reference as written: an
// image another tool stored under a short name (ctr images import of an OCI archive) is found.
func (c *Runtime) localImage(ctx context.Context, name, ref string) (client.Image, error) {
	img, err := c.client.GetImage(ctx, name)
	if errdefs.IsNotFound(err) && ref != name {
		img, err = c.client.GetImage(ctx, ref)
	}
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("look up image %s: %w", name, err)
	}
	return img, err
}

// normalizeRef expands a short reference as Docker does: "busybox" is docker.io/library/busybox:latest.
func normalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

// imageID names img by digest, as Kubernetes' imageID: docker.io/acme/app@sha256:….
func imageID(img client.Image) string {
	named, err := reference.ParseNormalizedNamed(img.Name())
	if err != nil {
		return img.Target().Digest.String()
	}
	return reference.TrimNamed(named).String() + "@" + img.Target().Digest.String()
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
// their repo tags), normalised as a Pod's image reference is: an archive naming its image
// acme/app:1 gives docker.io/acme/app:1, which a Pod asking for acme/app:1 finds without a pull.
func (c *Runtime) ImportArchive(ctx context.Context, path string) ([]string, error) {
	ctx = c.ns(ctx)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("import images: %w", err)
	}
	defer f.Close()
	imported, err := c.client.Import(ctx, f, client.WithImageLabels(map[string]string{labelImported: "true"}))
	if err != nil {
		return nil, fmt.Errorf("import images from %s: %w", path, err)
	}
	names := make([]string, 0, len(imported))
	for _, meta := range imported {
		if meta, err = c.renameNormalized(ctx, meta); err != nil {
			return names, err
		}
		if err := c.unpack(ctx, client.NewImage(c.client, meta)); err != nil {
			return names, err
		}
		names = append(names, meta.Name)
	}
	c.log.Info("imported images", "archive", path, "images", names)
	return names, nil
}

// renameNormalized stores an imported image under its normalised name and drops the name as
// written. A bare word is kept as is: as an OCI ref.name it may be a tag ("1.0") as well as a
// repository, and localImage finds it under the reference a Pod writes.
func (c *Runtime) renameNormalized(ctx context.Context, img images.Image) (images.Image, error) {
	if !strings.ContainsAny(img.Name, "/:@") {
		return img, nil
	}
	name, err := normalizeRef(img.Name)
	if err != nil || name == img.Name {
		return img, nil
	}
	is := c.client.ImageService()
	renamed := images.Image{Name: name, Labels: img.Labels, Target: img.Target}
	out, err := is.Update(ctx, renamed, "target", "labels")
	if errdefs.IsNotFound(err) {
		out, err = is.Create(ctx, renamed)
	}
	if err != nil {
		return img, fmt.Errorf("name image %s as %s: %w", img.Name, name, err)
	}
	if err := is.Delete(ctx, img.Name); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
		return out, fmt.Errorf("drop short name %s of %s: %w", img.Name, name, err)
	}
	return out, nil
}
