package containerd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pull fetches and unpacks the image name, logging each blob it fetches. Registries on loopback
// are reached over plain HTTP; credentials come from Config.RegistryConfig, read at each pull so
// that a changed file needs no agent restart.
func (c *Runtime) pull(ctx context.Context, name string) (client.Image, error) {
	creds, err := loadRegistryAuth(c.cfg.RegistryConfig)
	if err != nil {
		return nil, fmt.Errorf("pull image %s: %w", name, err)
	}
	log := c.log.With("image", name)
	log.Info("pulling image")
	start := time.Now()
	var blobs, bytes atomic.Int64
	progress := images.HandlerFunc(func(_ context.Context, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
		blobs.Add(1)
		bytes.Add(desc.Size)
		log.Debug("fetching", "media_type", desc.MediaType, "digest", desc.Digest, "size", desc.Size)
		return nil, nil
	})
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchLocalhost),
			docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds.lookup)))),
	})
	img, err := c.client.Pull(ctx, name, client.WithResolver(resolver), client.WithPullUnpack,
		client.WithPullSnapshotter(c.snapshotter), client.WithImageHandler(progress))
	if err != nil {
		return nil, fmt.Errorf("pull image %s: %w", name, err)
	}
	log.Info("pulled image", "digest", img.Target().Digest, "blobs", blobs.Load(), "bytes", bytes.Load(),
		"took", time.Since(start).Round(time.Millisecond))
	return img, nil
}

// registryAuth maps a registry host (host[:port]) to its user name and password.
type registryAuth map[string][2]string

// lookup implements docker.WithAuthCreds: no entry means anonymous access.
func (a registryAuth) lookup(host string) (string, string, error) {
	cred := a[host]
	return cred[0], cred[1], nil
}

// loadRegistryAuth reads the "auths" of a docker config.json (docker login's file); an empty
// path means no credentials.
func loadRegistryAuth(path string) (registryAuth, error) {
	if path == "" {
		return registryAuth{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read registry config: %w", err)
	}
	return parseRegistryAuth(data)
}

// parseRegistryAuth parses a docker config.json's auths: each entry has "auth",
// base64("user:password"), or "username" and "password". Keys may be URLs
// ("https://index.docker.io/v1/"); Docker Hub's names all map to the host containerd asks for.
func parseRegistryAuth(data []byte) (registryAuth, error) {
	var cfg struct {
		Auths map[string]struct {
			Auth     string `json:"auth"`
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parse registry config: %w", err)
	}
	out := registryAuth{}
	for key, e := range cfg.Auths {
		user, pass := e.Username, e.Password
		if e.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("parse registry config: auth of %s: %w", key, err)
			}
			var ok bool
			if user, pass, ok = strings.Cut(string(raw), ":"); !ok {
				return nil, fmt.Errorf("parse registry config: auth of %s is not user:password", key)
			}
		}
		out[registryHost(key)] = [2]string{user, pass}
	}
	return out, nil
}

// registryHost turns a config.json key into the host containerd's resolver asks credentials for.
func registryHost(key string) string {
	host := key
	if _, rest, ok := strings.Cut(host, "://"); ok {
		host = rest
	}
	host, _, _ = strings.Cut(host, "/")
	switch host {
	case "docker.io", "index.docker.io":
		return "registry-1.docker.io"
	}
	return host
}
