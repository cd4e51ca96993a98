package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/containerd"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
	"github.com/gitfleet/gitfleet/store"
)

// nodeFlags describe the node an agent runs and how it reaches containerd.
type nodeFlags struct {
	name, labels, podCIDR, address, namespace, cniBinDir string
}

func (f *nodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.name, "node-name", hostname(), "this node's name")
	fs.StringVar(&f.labels, "node-labels", "", "this node's labels, k=v,k2=v2 (for nodeSelector)")
	fs.StringVar(&f.podCIDR, "pod-cidr", podnet.DefaultPodCIDR, "this node's Pod address range, on bridge "+podnet.DefaultBridge)
	fs.StringVar(&f.address, "containerd-address", containerd.DefaultAddress, "containerd socket")
	fs.StringVar(&f.namespace, "containerd-namespace", containerd.DefaultNamespace, "containerd namespace of gitfleet's containers")
	fs.StringVar(&f.cniBinDir, "cni-bin-dir", podnet.DefaultCNIBinDir, "directory of the CNI plugins")
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

func (f *nodeFlags) runtimeConfig(dataDir string) containerd.Config {
	return containerd.Config{
		Address: f.address, Namespace: f.namespace, NodeName: f.name, DataDir: dataDir,
		Network: podnet.Config{BinDir: f.cniBinDir, PodCIDR: f.podCIDR},
	}
}

// agentRole connects to containerd, imports the archives in DATA_DIR/images and returns the
// node agent's loop.
func agentRole(ctx context.Context, st *store.Store, f nodeFlags, dataDir string, log *slog.Logger) (role, error) {
	labels, err := f.parseLabels()
	if err != nil {
		return role{}, err
	}
	log = log.With("role", "agent")
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return role{}, err
	}
	rt, err := containerd.New(ctx, f.runtimeConfig(dataDir), log)
	if err != nil {
		unlock()
		return role{}, err
	}
	if err := importDir(ctx, rt, filepath.Join(dataDir, "images"), log); err != nil {
		rt.Close()
		unlock()
		return role{}, err
	}
	agent := nodeagent.NewAgent(st, rt, log, nodeagent.AgentOptions{
		Node: nodeagent.NodeConfig{Name: f.name, Labels: labels, PodCIDR: f.podCIDR},
	})
	return role{"agent", func(ctx context.Context) error {
		defer unlock()
		defer rt.Close()
		return agent.Run(ctx)
	}}, nil
}

// lockDataDir takes the agent's lock on dataDir: Pod networks and addresses live there keyed by
// Pod alone, so a second agent on the same dir would take the first one's for orphans.
func lockDataDir(dataDir string) (func(), error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
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
