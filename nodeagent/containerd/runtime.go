package containerd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
)

// Defaults of Config.
const (
	DefaultAddress = "/run/containerd/containerd.sock"
	// DefaultNamespace keeps gitfleet's containers apart from those of other clients.
	DefaultNamespace = "gitfleet"
)

// Config configures the runtime of one node.
type Config struct {
	// Address of containerd's socket; DefaultAddress when empty.
	Address string
	// Namespace is the containerd namespace; DefaultNamespace when empty.
	Namespace string
	// NodeName is this node's name, recorded on every container (required).
	NodeName string
	// DataDir holds logs/ (container output, package logs), netns/ and cni/ (Pod network
	// namespaces and IPAM state, package podnet) and pods/ (ConfigMap volumes, resolv.conf)
	// (required).
	DataDir string
	// Snapshotter unpacks images; when empty, overlayfs if containerd reports it usable, else native.
	Snapshotter string
	// StopTimeout, when set, caps every Pod's grace between SIGTERM and SIGKILL (its
	// terminationGracePeriodSeconds); tests set it to stop busybox, which ignores SIGTERM as
	// PID 1, quickly.
	StopTimeout time.Duration
	// Network configures the Pods' network.
	Network podnet.Config
	// DNSServer is the IP of the node's cluster DNS, which the resolv.conf of every Pod but
	// hostNetwork ones names; "" leaves Pods with their image's /etc/resolv.conf.
	DNSServer string
	// LogMaxBytes is the size past which a container's log is rotated; defaultLogMaxBytes
	// when zero. LogCheckInterval is how often logs are checked; defaultLogCheckInterval when
	// zero.
	LogMaxBytes      int64
	LogCheckInterval time.Duration
	// ImageGCHighPercent is the disk use (percent) of containerd's snapshots past which pulled
	// images no container uses are removed; defaultImageGCHighPercent when zero, at every
	// check when negative. Imported images are kept.
	ImageGCHighPercent int
	// RegistryConfig is the path of a docker config.json whose auths are the registries'
	// credentials; "" pulls anonymously.
	RegistryConfig string
	// Now is the clock of recorded start times; time.Now when nil.
	Now func() time.Time
}

func (cfg *Config) setDefaults() error {
	if cfg.NodeName == "" || cfg.DataDir == "" {
		return errors.New("node name and data dir are required")
	}
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.LogMaxBytes = cmp.Or(cfg.LogMaxBytes, defaultLogMaxBytes)
	cfg.LogCheckInterval = cmp.Or(cfg.LogCheckInterval, defaultLogCheckInterval)
	cfg.ImageGCHighPercent = cmp.Or(cfg.ImageGCHighPercent, defaultImageGCHighPercent)
	return nil
}

// Runtime runs the Pods of one node in containerd, networked by podnet.
type Runtime struct {
	cfg         Config
	client      *client.Client
	net         *podnet.Network
	log         *slog.Logger
	snapshotter string
	// hostNetNS is the network namespace hostNetwork Pods join: "" for the machine's own (the
	// agent runs in it), else the agent's (the agent runs in a namespace, as in tests).
	hostNetNS string
	// stopRotation ends the housekeeping loop (logs, images); rotationDone is closed when it has.
	stopRotation context.CancelFunc
	rotationDone chan struct{}
}

var (
	_ nodeagent.Runtime       = (*Runtime)(nil)
	_ nodeagent.ConfigRuntime = (*Runtime)(nil)
)

// New connects to containerd, picks the snapshotter and loads the Pod network.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Runtime, error) {
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
	c := &Runtime{cfg: cfg, client: cl, log: log.With("containerd_namespace", cfg.Namespace)}
	if err := c.init(ctx); err != nil {
		cl.Close()
		return nil, err
	}
	if err := c.collectShims(ctx); err != nil {
		c.log.Warn("cannot end the shims left without containers", "err", err)
	}
	rotCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.stopRotation, c.rotationDone = cancel, make(chan struct{})
	go func() {
		defer close(c.rotationDone)
		c.housekeep(rotCtx)
	}()
	return c, nil
}

func (c *Runtime) init(ctx context.Context) error {
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

// Close stops the log rotation and closes the connection to containerd; running containers
// keep running.
func (c *Runtime) Close() error {
	if c.stopRotation != nil {
		c.stopRotation()
		<-c.rotationDone
	}
	return c.client.Close()
}

func (c *Runtime) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, c.cfg.Namespace)
}

func (c *Runtime) chooseSnapshotter(ctx context.Context) (string, error) {
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
func (c *Runtime) ownedFilter(key *api.PodKey) string {
	f := fmt.Sprintf(`labels.%q==true,labels.%q==%q`, labelManaged, labelNode, c.cfg.NodeName)
	if key != nil {
		f += fmt.Sprintf(`,labels.%q==%q,labels.%q==%q`,
			labelPodNamespace, key.Namespace, labelPodName, key.Name)
	}
	return f
}

// owns reports whether labels mark a container gitfleet made for this node.
func (c *Runtime) owns(labels map[string]string) bool {
	return labels[labelManaged] == "true" && labels[labelNode] == c.cfg.NodeName
}

// owned is a container of this node with its labels.
type owned struct {
	ctr    client.Container
	labels map[string]string
}

// podContainers returns the Pod's containers on this node by container name.
func (c *Runtime) podContainers(ctx context.Context, key api.PodKey) (map[string]owned, error) {
	ctrs, err := c.client.Containers(ctx, c.ownedFilter(&key))
	if err != nil {
		return nil, fmt.Errorf("list containers of %s: %w", key, err)
	}
	out := map[string]owned{}
	for _, ctr := range ctrs {
		labels := listedLabels(ctx, ctr)
		if c.owns(labels) {
			out[labels[labelContainer]] = owned{ctr, labels}
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
func (c *Runtime) loadOwned(ctx context.Context, key api.PodKey, name string) (owned, error) {
	ctr, err := c.client.LoadContainer(ctx, containerID(key, name))
	if err != nil {
		return owned{}, fmt.Errorf("load container %s/%s: %w", key, name, err)
	}
	labels, err := ctr.Labels(ctx)
	if err != nil {
		return owned{}, fmt.Errorf("read labels of %s: %w", ctr.ID(), err)
	}
	if !c.owns(labels) || keyOfLabels(labels) != key || labels[labelContainer] != name {
		return owned{}, fmt.Errorf("container %s is not gitfleet's %s/%s on node %s", ctr.ID(), key, name, c.cfg.NodeName)
	}
	return owned{ctr, labels}, nil
}
