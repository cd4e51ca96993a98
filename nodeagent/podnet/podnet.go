package podnet

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	gocni "github.com/containerd/go-cni"
)

// Defaults of Config. 10.244.0.0/24 is the first per-node range of the common Kubernetes
// 10.244.0.0/16 pod network: private, and away from Docker's 172.17/16 and containerd's 10.88/16.
const (
	DefaultCNIBinDir = "/usr/lib/cni"
	DefaultPodCIDR   = "10.244.0.0/24"
	DefaultBridge    = "gitfleet0"
	cniNetworkName   = "gitfleet"
	podInterface     = "eth0"
	sandboxKeyFile   = "pod"
	portsFile        = "ports"
	netnsDirName     = "netns"
	// tempPrefix names a Pod's network directory until its records are written; no network
	// id starts with a dot.
	tempPrefix = ".new-"
	// gonePrefix names a Pod's network directory while it is removed.
	gonePrefix = ".gone-"
	// unfinishedAge is how old a directory still under its temporary name must be for Orphans
	// to remove it: an agent was killed before its rename. A younger one may be a Setup of
	// another process on the same data dir (`gitfleet image import` loads the network too).
	unfinishedAge     = time.Minute
	cniNetworkVersion = "1.0.0"
)

// Config configures the Pod network: one bridge per node, addresses from PodCIDR.
type Config struct {
	// BinDir holds the CNI plugins (bridge, host-local, portmap, loopback); DefaultCNIBinDir when empty.
	BinDir string
	// PodCIDR is this node's Pod address range; DefaultPodCIDR when empty.
	PodCIDR string
	// Bridge is the bridge's name; DefaultBridge when empty.
	Bridge string
	// IPAMDir is where host-local records addresses in use; <data dir>/cni when empty.
	IPAMDir string
}

func (cfg *Config) setDefaults(ipamDir string) {
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

// Network sets up and tears down the networks of the Pods of one node. Its methods may be
// called concurrently for different Pods, not for the same Pod.
type Network struct {
	cfg Config
	// cni attaches Pods with hostPorts (bridge, then portmap), plain those without, sparing
	// each of them a portmap run on setup and teardown. Neither has the loopback plugin: Setup
	// brings lo up itself, sparing a plugin run on setup and one on teardown (lo goes with its
	// namespace). legacy, with portmap and loopback, tears down what agents set up before
	// Setup recorded ports. All three are the same CNI network.
	cni, plain, legacy gocni.CNI
	// dir holds one directory per Pod network, named by the caller's ID for the Pod.
	dir string
	log *slog.Logger
}

// New loads the CNI network of Pods whose namespaces live under <dataDir>/netns.
func New(cfg Config, dataDir string, log *slog.Logger) (*Network, error) {
	cfg.setDefaults(filepath.Join(dataDir, "cni"))
	n := &Network{cfg: cfg, dir: filepath.Join(dataDir, netnsDirName), log: log}
	for _, dir := range []string{n.dir, cfg.IPAMDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	var err error
	if n.cni, err = newCNI(cfg, true, false); err != nil {
		return nil, err
	}
	if n.plain, err = newCNI(cfg, false, false); err != nil {
		return nil, err
	}
	if n.legacy, err = newCNI(cfg, true, true); err != nil {
		return nil, err
	}
	return n, nil
}

// Config returns the network's configuration, defaults filled in.
func (n *Network) Config() Config { return n.cfg }

// confList is the CNI network of Pods: a bridge that is the Pods' gateway, host-local addresses
// from the Pod CIDR, and portmap for hostPorts (its snat masquerades hostPort traffic that
// loops back from the node). The bridge does not masquerade: Pods see each other's own
// addresses across nodes, and the agent masquerades only what leaves the cluster (package
// hostgw), which the bridge plugin, knowing only this node's range, cannot tell. Without
// withPortMap, the list has no portmap, for Pods with no hostPort.
func confList(cfg Config, withPortMap bool) ([]byte, error) {
	type obj = map[string]any
	plugins := []obj{{
		"type": "bridge", "bridge": cfg.Bridge, "isGateway": true, "ipMasq": false, "hairpinMode": true,
		"ipam": obj{
			"type":    "host-local",
			"ranges":  [][]obj{{{"subnet": cfg.PodCIDR}}},
			"routes":  []obj{{"dst": "0.0.0.0/0"}},
			"dataDir": cfg.IPAMDir,
		},
	}}
	if withPortMap {
		plugins = append(plugins, obj{"type": "portmap", "capabilities": obj{"portMappings": true}, "snat": true})
	}
	return json.Marshal(obj{"cniVersion": cniNetworkVersion, "name": cniNetworkName, "plugins": plugins})
}

// newCNI loads the Pod network, with portmap or not, and with the loopback plugin or not (as
// its own network, gocni.WithLoNetwork: in the list it would configure eth0 rather than lo).
func newCNI(cfg Config, withPortMap, withLo bool) (gocni.CNI, error) {
	conf, err := confList(cfg, withPortMap)
	if err != nil {
		return nil, fmt.Errorf("build cni config: %w", err)
	}
	opts, networks := []gocni.Opt{gocni.WithConfListBytes(conf)}, 1
	if withLo {
		opts, networks = append(opts, gocni.WithLoNetwork), 2
	}
	cni, err := gocni.New(gocni.WithPluginDir([]string{cfg.BinDir}), gocni.WithMinNetworkCount(networks),
		gocni.WithInterfacePrefix("eth"))
	if err != nil {
		return nil, fmt.Errorf("init cni: %w", err)
	}
	// The bridge network first, so that it is eth0.
	if err := cni.Load(opts...); err != nil {
		return nil, fmt.Errorf("load cni config: %w", err)
	}
	return cni, nil
}
