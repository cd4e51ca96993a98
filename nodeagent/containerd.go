package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
)

// Defaults of ContainerdConfig.
const (
	DefaultContainerdAddress = "/run/containerd/containerd.sock"
	// DefaultContainerdNamespace keeps gitfleet's containers apart from those of other clients.
	DefaultContainerdNamespace = "gitfleet"
	DefaultStopTimeout         = 10 * time.Second
)

// ContainerdConfig configures the containerd Runtime of one node.
type ContainerdConfig struct {
	// Address of containerd's socket; DefaultContainerdAddress when empty.
	Address string
	// Namespace is the containerd namespace; DefaultContainerdNamespace when empty.
	Namespace string
	// NodeName is this node's name, recorded on every container (required).
	NodeName string
	// DataDir holds logs/ (container output), netns/ (Pod network namespaces) and cni/ (IPAM
	// state) (required).
	DataDir string
	// Snapshotter unpacks images; when empty, overlayfs if containerd reports it usable, else native.
	Snapshotter string
	// StopTimeout is the grace between SIGTERM and SIGKILL; DefaultStopTimeout when zero.
	StopTimeout time.Duration
	Network     podnet.Config
	// Now is the clock of recorded start times; time.Now when nil.
	Now func() time.Time
}

func (cfg *ContainerdConfig) setDefaults() error {
	if cfg.NodeName == "" || cfg.DataDir == "" {
		return errors.New("node name and data dir are required")
	}
	if cfg.Address == "" {
		cfg.Address = DefaultContainerdAddress
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultContainerdNamespace
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return nil
}

// Containerd is the Runtime backed by containerd and CNI.
type Containerd struct {
	cfg         ContainerdConfig
	client      *client.Client
	net         *podnet.Network
	log         *slog.Logger
	snapshotter string
	// hostNetNS is the network namespace hostNetwork Pods join: "" for the machine's own (the
	// agent runs in it), else the agent's (the agent runs in a namespace, as in tests).
	hostNetNS string
}

var _ Runtime = (*Containerd)(nil)

// NewContainerd connects to containerd, picks the snapshotter and loads the CNI network.
func NewContainerd(ctx context.Context, cfg ContainerdConfig, log *slog.Logger) (*Containerd, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("configure containerd runtime: %w", err)
	}
	if err := os.MkdirAll(logs.Dir(cfg.DataDir), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	cl, err := client.New(cfg.Address, client.WithDefaultNamespace(cfg.Namespace))
	if err != nil {
		return nil, fmt.Errorf("connect containerd at %s: %w", cfg.Address, err)
	}
	c := &Containerd{cfg: cfg, client: cl, log: log.With("containerd_namespace", cfg.Namespace)}
	if err := c.init(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	return c, nil
}

func (c *Containerd) init(ctx context.Context) error {
	ctx = c.ns(ctx)
	v, err := c.client.Version(ctx)
	if err != nil {
		return fmt.Errorf("connect containerd at %s: %w", c.cfg.Address, err)
	}
	if c.snapshotter, err = c.chooseSnapshotter(ctx); err != nil {
		return err
	}
	if c.net, err = podnet.New(c.cfg.Network, c.cfg.DataDir, c.log); err != nil {
		return err
	}
	if c.hostNetNS, err = podnet.HostNetNS(); err != nil {
		return err
	}
	c.log.Info("containerd runtime ready", "version", v.Version, "snapshotter", c.snapshotter,
		"pod_cidr", c.net.Config().PodCIDR, "bridge", c.net.Config().Bridge)
	return nil
}

// Close closes the connection to containerd; running containers keep running.
func (c *Containerd) Close() error { return c.client.Close() }

func (c *Containerd) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, c.cfg.Namespace)
}

func (c *Containerd) chooseSnapshotter(ctx context.Context) (string, error) {
	if c.cfg.Snapshotter != "" {
		return c.cfg.Snapshotter, nil
	}
	resp, err := c.client.IntrospectionService().Plugins(ctx,
		`type==io.containerd.snapshotter.v1,id==overlayfs`)
	if err != nil {
		return "", fmt.Errorf("list snapshotters: %w", err)
	}
	if len(resp.Plugins) == 1 && resp.Plugins[0].InitErr == nil {
		return "overlayfs", nil
	}
	return "native", nil
}

// ownedFilter selects the containers of this node, and of one Pod when key is not nil.
func (c *Containerd) ownedFilter(key *api.PodKey) string {
	f := fmt.Sprintf(`labels.%q==true,labels.%q==%q`, LabelManaged, LabelNode, c.cfg.NodeName)
	if key != nil {
		f += fmt.Sprintf(`,labels.%q==%q,labels.%q==%q`,
			LabelPodNamespace, key.Namespace, LabelPodName, key.Name)
	}
	return f
}

// owns reports whether labels mark a container gitfleet made for this node.
func (c *Containerd) owns(labels map[string]string) bool {
	return labels[LabelManaged] == "true" && labels[LabelNode] == c.cfg.NodeName
}

// owned is a container of this node with its labels.
type owned struct {
	ctr    client.Container
	labels map[string]string
}

// podContainers returns the Pod's containers on this node by container name.
func (c *Containerd) podContainers(ctx context.Context, key api.PodKey) (map[string]owned, error) {
	ctrs, err := c.client.Containers(ctx, c.ownedFilter(&key))
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", key, err)
	}
	out := map[string]owned{}
	for _, ctr := range ctrs {
		labels := listedLabels(ctx, ctr)
		if c.owns(labels) {
			out[labels[LabelContainer]] = owned{ctr, labels}
		}
	}
	return out, nil
}

// listedLabels returns the labels of a container as listed, without asking containerd again.
func listedLabels(ctx context.Context, ctr client.Container) map[string]string {
	info, err := ctr.Info(ctx, client.WithoutRefreshedMetadata)
	if err != nil {
		return nil // only fails when asked to refresh
	}
	return info.Labels
}

// loadOwned loads one container of the Pod, refusing any gitfleet did not make for this node.
func (c *Containerd) loadOwned(ctx context.Context, key api.PodKey, name string) (owned, error) {
	ctr, err := c.client.LoadContainer(ctx, containerID(key, name))
	if err != nil {
		return owned{}, fmt.Errorf("load container %s/%s: %w", key, name, err)
	}
	labels, err := ctr.Labels(ctx)
	if err != nil {
		return owned{}, fmt.Errorf("read labels of %s: %w", ctr.ID(), err)
	}
	if !c.owns(labels) || keyOfLabels(labels) != key || labels[LabelContainer] != name {
		return owned{}, fmt.Errorf("container %s is not gitfleet's %s/%s on node %s", ctr.ID(), key, name, c.cfg.NodeName)
	}
	return owned{ctr, labels}, nil
}
