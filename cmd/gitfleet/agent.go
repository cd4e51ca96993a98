package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/containerd"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
	"github.com/gitfleet/gitfleet/nodeagent/podnet/hostgw"
	"github.com/gitfleet/gitfleet/nodeagent/proxy"
	"github.com/gitfleet/gitfleet/store"
)

// nodeFlags describe the node an agent runs and how it reaches containerd.
type nodeFlags struct {
	name, labels, advertise, address, namespace, cniBinDir string
	grace                                                  time.Duration
	maxPods                                                int
	// serviceCIDR is what the node's proxy routes to itself: the agent's own --service-cidr,
	// or under up the controller's.
	serviceCIDR string
	// registryConfig is a docker config.json with the registries' credentials.
	registryConfig string
	// logsListen is where the agent serves its containers' logs ("": see logsAddr).
	logsListen string
}

func (f *nodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "node-name", "", "this node's name (default: the name kept in DATA_DIR/node-name, else the hostname); kept across restarts")
	fs.StringVar(&f.labels, "node-labels", "", "this node's labels, k=v,k2=v2 (for nodeSelector)")
	fs.StringVar(&f.advertise, "advertise-address", "", "this node's IP that other nodes reach its Pods through (default: the first global IPv4 address)")
	fs.DurationVar(&f.grace, "node-grace", nodeagent.DefaultLeaseTTL, "how long after the agent's last heartbeat the node is NotReady and its Pods are replaced elsewhere")
	fs.IntVar(&f.maxPods, "max-pods", nodeagent.DefaultMaxPods, "the most Pods this node runs (its pods capacity, which the scheduler fills no further)")
	fs.StringVar(&f.address, "containerd-address", containerd.DefaultAddress, "containerd socket")
	fs.StringVar(&f.namespace, "containerd-namespace", containerd.DefaultNamespace, "containerd namespace of gitfleet's containers")
	fs.StringVar(&f.cniBinDir, "cni-bin-dir", podnet.DefaultCNIBinDir, "directory of the CNI plugins")
	fs.StringVar(&f.registryConfig, "registry-config", "", "docker config.json whose auths are the image registries' credentials (read at each pull)")
	fs.StringVar(&f.logsListen, "logs-listen", "", "where the agent serves its containers' logs to 'gitfleet logs', IP:PORT (default: the node's address, port 10250, over TLS with client certificates of the cluster CA when the host has them; else 127.0.0.1:10250, plain HTTP; port 0 picks one, published in the node's status)")
}

func (f *nodeFlags) parseLabels() (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(f.labels, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("parse --node-labels: %q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

func (f *nodeFlags) runtimeConfig(node, dataDir, podCIDR string) containerd.Config {
	return containerd.Config{
		Address: f.address, Namespace: f.namespace, NodeName: node, DataDir: dataDir,
		Network:        podnet.Config{BinDir: f.cniBinDir, PodCIDR: podCIDR, Bridge: podnet.DefaultBridge},
		RegistryConfig: f.registryConfig,
	}
}

// nodeConfig is this node's identity: its name and host ID kept in dataDir, labels, address.
func (f *nodeFlags) nodeConfig(dataDir string) (nodeagent.NodeConfig, error) {
	labels, err := f.parseLabels()
	if err != nil {
		return nodeagent.NodeConfig{}, err
	}
	name, err := keptValue(filepath.Join(dataDir, "node-name"), f.name, hostname)
	if err != nil {
		return nodeagent.NodeConfig{}, err
	}
	hostID, err := keptValue(filepath.Join(dataDir, "host-id"), "", func() string { return strings.ToLower(rand.Text()) })
	if err != nil {
		return nodeagent.NodeConfig{}, err
	}
	addr := f.advertise
	if addr == "" {
		addr = defaultAddress()
	}
	if net.ParseIP(addr) == nil {
		return nodeagent.NodeConfig{}, fmt.Errorf("--advertise-address %q is not an IP address", addr)
	}
	if f.maxPods < 1 {
		return nodeagent.NodeConfig{}, fmt.Errorf("--max-pods %d: want at least 1", f.maxPods)
	}
	return nodeagent.NodeConfig{Name: name, Labels: labels, HostID: hostID, LeaseTTL: f.grace, DataDir: dataDir, MaxPods: f.maxPods,
		Addresses: []api.NodeAddress{{Type: api.NodeInternalIP, Address: addr}, {Type: api.NodeHostName, Address: hostname()}}}, nil
}

// servingIPs are the addresses the node's log server is reached at, which its serving
// certificate names: the node's address and a specific --logs-listen IP.
func (f *nodeFlags) servingIPs() []net.IP {
	addr := f.advertise
	if addr == "" {
		addr = defaultAddress()
	}
	ips := listenIPs(net.ParseIP(addr), f.logsListen)
	if ips[0] == nil {
		return ips[1:]
	}
	return ips
}

// keptValue returns the value kept in file; else flag, else def(), which it keeps there. A flag
// that differs from the kept value wins and is kept.
func keptValue(file, flag string, def func() string) (string, error) {
	b, err := os.ReadFile(file)
	kept := strings.TrimSpace(string(b))
	switch {
	case err != nil && !os.IsNotExist(err):
		return "", fmt.Errorf("read %s: %w", file, err)
	case flag == "" && kept != "":
		return kept, nil
	case flag == "":
		flag = def()
	}
	if flag != kept {
		if err := writeFileAtomic(file, []byte(flag+"\n")); err != nil {
			return "", err
		}
	}
	return flag, nil
}

// defaultAddress is the first global unicast IPv4 address of the host, else 127.0.0.1.
func defaultAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && ip.IP.IsGlobalUnicast() {
				return ip.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// agentRole returns the node agent's loop: it locks the data dir, serves the containers' logs
// as logs says, registers the node, waits for its Pod range from the control plane, connects
// to containerd with it, imports the archives in DATA_DIR/images, and runs the agent, which
// routes to the other nodes' Pods and serves the cluster DNS on the Pod gateway.
func agentRole(st *store.Store, f nodeFlags, dataDir string, logs logsServing, log *slog.Logger, o *observe) (role, error) {
	log = log.With("role", "agent")
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return role{}, err
	}
	node, err := f.nodeConfig(dataDir)
	if err != nil {
		unlock()
		return role{}, err
	}
	rec := o.recorder(st, api.EventSourceNode(node.Name), log)
	o.checkNode(st, node.Name)
	return withRecorder(role{"agent", func(ctx context.Context) error {
		defer unlock()
		var wg sync.WaitGroup
		defer wg.Wait() // the heartbeat and the log server log nothing after the role stopped
		hctx, stop := context.WithCancel(ctx)
		defer stop()
		if err := serveLogs(hctx, &wg, f.logsListen, &node, logs, dataDir, log); err != nil {
			return err
		}
		if err := nodeagent.Register(ctx, st, node, time.Now()); err != nil {
			return err
		}
		wg.Go(func() { nodeagent.Heartbeat(hctx, st, node, log) })
		spec, err := nodeagent.WaitForPodRange(ctx, st, node)
		if err != nil {
			return err
		}
		log.Info("node registered", "node", node.Name, "pod_cidr", spec.PodCIDR, "address", node.Addresses[0].Address)
		cfg := f.runtimeConfig(node.Name, dataDir, spec.PodCIDR)
		clusterDNS, dnsIP, err := startClusterDNS(ctx, spec.PodCIDR, log)
		if err != nil {
			return err
		}
		defer clusterDNS.Close() // after the agent: no Sync comes once Run returned
		cfg.DNSServer = dnsIP.String()
		rt, err := containerd.New(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer rt.Close()
		// this agent holds the data dir's lock and has created nothing yet
		if _, err := rt.DropCreateLeases(ctx); err != nil {
			log.Warn("cannot delete the leases of creates cut short; they expire by themselves", "err", err)
		}
		if err := importDir(ctx, rt, filepath.Join(dataDir, "images"), log); err != nil {
			return err
		}
		routes, err := hostgw.New(hostgw.Config{PodCIDR: spec.PodCIDR, Bridge: cfg.Network.Bridge}, log)
		if err != nil {
			return err
		}
		defer routes.Close()
		svcProxy, err := proxy.New(proxy.Config{ServiceCIDR: cmp.Or(f.serviceCIDR, api.DefaultServiceCIDR), Bridge: cfg.Network.Bridge}, log)
		if err != nil {
			return err
		}
		defer svcProxy.Close()
		services := []nodeagent.ServiceView{svcProxy, clusterDNS}
		return nodeagent.NewAgent(st, rt, log, nodeagent.AgentOptions{Node: node, Routes: routes, Services: services,
			Events: rec, Metrics: o.m}).Run(ctx)
	}}, rec), nil
}

// lockDataDir takes the agent's lock on dataDir: Pod networks and addresses live there keyed by
// Pod alone, so a second agent on the same dir would take the first one's for orphans.
func lockDataDir(dataDir string) (func(), error) {
	if err := makeDataDir(dataDir); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, "agent.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock data dir %s: another agent uses it (give each agent its own --data-dir): %w", dataDir, err)
	}
	return func() { f.Close() }, nil
}

// importDir imports every archive in dir, as k3s does for air-gapped nodes; a missing dir is fine.
func importDir(ctx context.Context, rt *containerd.Runtime, dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read image dir: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !isArchive(e.Name()) {
			continue
		}
		names, err := rt.ImportArchive(ctx, filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		log.Info("imported image archive", "file", e.Name(), "images", names)
	}
	return nil
}

func isArchive(name string) bool {
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".oci"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}
