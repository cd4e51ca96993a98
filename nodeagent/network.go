package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/pkg/netns"
	gocni "github.com/containerd/go-cni"

	"github.com/gitfleet/gitfleet/api"
)

// Defaults of CNIConfig. 10.244.0.0/24 is the first per-node range of the common Kubernetes
// 10.244.0.0/16 pod network: private, and away from Docker's 172.17/16 and containerd's 10.88/16.
const (
	DefaultCNIBinDir  = "/usr/lib/cni"
	DefaultPodCIDR    = "10.244.0.0/24"
	DefaultBridge     = "gitfleet0"
	cniNetworkName    = "gitfleet"
	podInterface      = "eth0"
	sandboxKeyFile    = "pod"
	netnsDirName      = "netns"
	cniNetworkVersion = "1.0.0"
)

// CNIConfig configures the Pod network: one bridge per node, addresses from PodCIDR.
type CNIConfig struct {
	// BinDir holds the CNI plugins (bridge, host-local, portmap, loopback); DefaultCNIBinDir when empty.
	BinDir string
	// PodCIDR is this node's Pod address range; DefaultPodCIDR when empty.
	PodCIDR string
	// Bridge is the bridge's name; DefaultBridge when empty.
	Bridge string
	// IPAMDir is where host-local records addresses in use; <DataDir>/cni when empty.
	IPAMDir string
}

func (cfg *CNIConfig) setDefaults(ipamDir string) {
	if cfg.BinDir == "" {
		cfg.BinDir = DefaultCNIBinDir
	}
	if cfg.PodCIDR == "" {
		cfg.PodCIDR = DefaultPodCIDR
	}
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	if cfg.IPAMDir == "" {
		cfg.IPAMDir = ipamDir
	}
}

// confList is the CNI network of Pods: a bridge that is the Pods' gateway and masquerades their
// traffic, host-local addresses from the Pod CIDR, and portmap for hostPorts. The loopback
// plugin is loaded as its own network (gocni.WithLoNetwork): in this list it would configure
// eth0 rather than lo.
func confList(cfg CNIConfig) ([]byte, error) {
	type obj = map[string]any
	return json.Marshal(obj{
		"cniVersion": cniNetworkVersion,
		"name":       cniNetworkName,
		"plugins": []obj{
			{
				"type": "bridge", "bridge": cfg.Bridge, "isGateway": true, "ipMasq": true, "hairpinMode": true,
				"ipam": obj{
					"type":    "host-local",
					"ranges":  [][]obj{{{"subnet": cfg.PodCIDR}}},
					"routes":  []obj{{"dst": "0.0.0.0/0"}},
					"dataDir": cfg.IPAMDir,
				},
			},
			{"type": "portmap", "capabilities": obj{"portMappings": true}, "snat": true},
		},
	})
}

func newCNI(cfg CNIConfig) (gocni.CNI, error) {
	conf, err := confList(cfg)
	if err != nil {
		return nil, fmt.Errorf("build cni config: %w", err)
	}
	cni, err := gocni.New(gocni.WithPluginDir([]string{cfg.BinDir}), gocni.WithMinNetworkCount(2),
		gocni.WithInterfacePrefix("eth"))
	if err != nil {
		return nil, fmt.Errorf("init cni: %w", err)
	}
	// The bridge network first, so that it is eth0.
	if err := cni.Load(gocni.WithConfListBytes(conf), gocni.WithLoNetwork); err != nil {
		return nil, fmt.Errorf("load cni config: %w", err)
	}
	return cni, nil
}

// portMappings are the hostPorts of a Pod, for the portmap plugin.
func portMappings(pod *api.Pod) []gocni.PortMapping {
	var pm []gocni.PortMapping
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := strings.ToLower(p.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			pm = append(pm, gocni.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto})
		}
	}
	return pm
}

func (c *Containerd) netnsDir(key api.PodKey) string {
	return filepath.Join(c.cfg.DataDir, netnsDirName, sandboxID(key))
}

// setupNetwork creates the Pod's network namespace under <DataDir>/netns/<sandbox>/ and
// attaches it to the bridge; the directory also records the Pod's key for List.
func (c *Containerd) setupNetwork(ctx context.Context, pod *api.Pod) (podNet, error) {
	key := api.PodKeyOf(pod)
	dir := c.netnsDir(key)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return podNet{}, fmt.Errorf("set up network of %s: %w", key, err)
	}
	if err := os.WriteFile(filepath.Join(dir, sandboxKeyFile), []byte(key.String()), 0o600); err != nil {
		return podNet{}, fmt.Errorf("set up network of %s: %w", key, err)
	}
	ns, err := netns.NewNetNS(dir)
	if err != nil {
		return podNet{}, fmt.Errorf("create network namespace of %s: %w", key, err)
	}
	res, err := c.cni.Setup(ctx, cniID(key, ns.GetPath()), ns.GetPath(), gocni.WithCapabilityPortMap(portMappings(pod)))
	if err != nil {
		return podNet{}, errors.Join(fmt.Errorf("set up network of %s: %w", key, err), c.teardownNetwork(ctx, key))
	}
	ip := firstIPv4(res)
	if ip == "" {
		return podNet{}, errors.Join(fmt.Errorf("set up network of %s: cni gave no IPv4 address", key), c.teardownNetwork(ctx, key))
	}
	c.log.Info("pod network up", "pod", key, "ip", ip, "netns", ns.GetPath())
	return podNet{IP: ip, NetNSPath: ns.GetPath()}, nil
}

func firstIPv4(res *gocni.Result) string {
	iface := res.Interfaces[podInterface]
	if iface == nil {
		return ""
	}
	for _, ipc := range iface.IPConfigs {
		if v4 := ipc.IP.To4(); v4 != nil {
			return v4.String()
		}
	}
	return ""
}

// teardownNetwork detaches the Pod's network namespaces from CNI, releasing their addresses and
// port mappings, and removes them. A namespace that is no longer mounted (after a reboot) is
// released with no namespace path, which still frees its address. A Pod with no network
// directory has nothing to tear down.
func (c *Containerd) teardownNetwork(ctx context.Context, key api.PodKey) error {
	dir := c.netnsDir(key)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tear down network of %s: %w", key, err)
	}
	for _, e := range entries {
		if e.Name() == sandboxKeyFile {
			continue
		}
		if err := c.detach(ctx, key, filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("tear down network of %s: %w", key, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("tear down network of %s: %w", key, err)
	}
	c.log.Info("pod network down", "pod", key)
	return nil
}

// detach releases one network namespace of the Pod from CNI and removes it.
func (c *Containerd) detach(ctx context.Context, key api.PodKey, path string) error {
	cniPath := path
	if !netnsOpen(path) {
		cniPath = "" // CNI then releases the address only
	}
	if err := c.cni.Remove(ctx, cniID(key, path), cniPath); err != nil {
		return err
	}
	return removeNetNS(path)
}

// cniID is the container ID CNI knows a Pod's network by: the sandbox ID and the network
// namespace's generated name. Each network a Pod gets has its own, so that what a lost network
// left in iptables never collides with its successor's, and it can be rebuilt from the
// namespace's file even after a reboot unmounted it.
func cniID(key api.PodKey, nsPath string) string {
	return sandboxID(key) + "_" + filepath.Base(nsPath)
}

// removeNetNS unmounts and deletes a network namespace file; one that is no longer mounted is
// just deleted.
func removeNetNS(path string) error {
	if netnsOpen(path) {
		return netns.LoadNetNS(path).Remove()
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Magic numbers of the filesystems a mounted network namespace shows as (statfs(2)): nsfs,
// and procfs on kernels before 3.19.
const (
	nsfsMagic   = 0x6e736673
	procfsMagic = 0x9fa0
)

// netnsOpen reports whether path is a mounted network namespace. Unlike netns.NetNS.Closed it
// changes nothing: List must not delete what teardown still needs to find.
func netnsOpen(path string) bool {
	var st syscall.Statfs_t
	if path == "" || syscall.Statfs(path, &st) != nil {
		return false
	}
	return st.Type == nsfsMagic || st.Type == procfsMagic
}

// orphanNetworks lists the Pod networks no listed container uses: left behind when the agent
// was killed between setting a network up and creating the first container.
func (c *Containerd) orphanNetworks(listed []Sandbox) []Sandbox {
	used := map[string]bool{}
	for _, sb := range listed {
		used[sandboxID(sb.Key)] = true
	}
	root := filepath.Join(c.cfg.DataDir, netnsDirName)
	entries, err := os.ReadDir(root)
	if err != nil {
		c.log.Warn("cannot list pod networks", "err", err)
		return nil
	}
	var out []Sandbox
	for _, e := range entries {
		if used[e.Name()] {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, e.Name(), sandboxKeyFile))
		ns, name, ok := strings.Cut(string(b), "/")
		if err != nil || !ok {
			c.log.Warn("unknown pod network directory", "dir", e.Name(), "err", err)
			continue
		}
		out = append(out, Sandbox{Key: api.PodKey{Namespace: ns, Name: name}})
	}
	return out
}
