package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gitfleet/gitfleet/api"
)

// processOpts applies what a container's spec says of its process beyond its command: the
// working directory and the security context. They come after the image's config, which they
// override.
func processOpts(ctr api.Container) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if ctr.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(ctr.WorkingDir))
	}
	sc := ctr.SecurityContext
	if sc == nil {
		return opts
	}
	switch {
	case sc.RunAsUser != nil && sc.RunAsGroup != nil:
		opts = append(opts, oci.WithUIDGID(uint32(*sc.RunAsUser), uint32(*sc.RunAsGroup)))
	case sc.RunAsUser != nil:
		opts = append(opts, oci.WithUserID(uint32(*sc.RunAsUser))) // its group from the image's /etc/passwd
	case sc.RunAsGroup != nil:
		opts = append(opts, withGID(uint32(*sc.RunAsGroup)))
	}
	if sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	if sc.Capabilities != nil && len(sc.Capabilities.Drop) > 0 {
		opts = append(opts, dropCapabilities(sc.Capabilities.Drop))
	}
	return opts
}

// withGID sets the process's group, keeping the user the image names.
func withGID(gid uint32) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.User.GID = gid
		return nil
	}
}

// dropCapabilities drops capabilities written as Kubernetes does (NET_RAW, or ALL for every one).
func dropCapabilities(drop []string) oci.SpecOpts {
	var caps []string
	for _, c := range drop {
		if strings.EqualFold(c, "ALL") {
			return oci.WithCapabilities(nil)
		}
		caps = append(caps, "CAP_"+strings.TrimPrefix(strings.ToUpper(c), "CAP_"))
	}
	return oci.WithDroppedCapabilities(caps)
}

// terminationMount makes the file on the node that backs ctr's terminationMessagePath, empty
// and writable by any user (the container may run as one), and mounts it there; none when the
// container sets no path.
func (c *Runtime) terminationMount(key api.PodKey, ctr api.Container) ([]specs.Mount, error) {
	if ctr.TerminationMessagePath == "" {
		return nil, nil
	}
	path := c.terminationFile(key, ctr.Name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create termination message file: %w", err)
	}
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		return nil, fmt.Errorf("create termination message file: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil { // whatever the umask
		return nil, fmt.Errorf("create termination message file: %w", err)
	}
	return []specs.Mount{{Destination: ctr.TerminationMessagePath, Type: "bind", Source: path,
		Options: []string{"bind", "rw"}}}, nil
}

// terminationFile is where a container's termination message is kept on the node.
func (c *Runtime) terminationFile(key api.PodKey, name string) string {
	return filepath.Join(c.podDir(key), "termination", name)
}

// maxTerminationMessage bounds the termination message read into a status, as Kubernetes does.
const maxTerminationMessage = 4096

// terminationMessage reads what the container wrote to its termination message file, "" when
// it wrote nothing or has none.
func (c *Runtime) terminationMessage(key api.PodKey, name string) string {
	f, err := os.Open(c.terminationFile(key, name))
	if err != nil {
		return ""
	}
	defer f.Close()
	buf := make([]byte, maxTerminationMessage)
	n, _ := f.Read(buf)
	return strings.TrimSpace(string(buf[:n]))
}
