package nodeagent

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// NodeConfig describes the node an agent runs.
type NodeConfig struct {
	Name      string
	Labels    map[string]string
	Addresses []string
	PodCIDR   string
	// Capacity overrides what is read from the host (cpu and memory quantities) when set.
	Capacity api.ResourceList
	// LeaseTTL is how long the node's key outlives the agent's last keep-alive; 0 means 10s.
	LeaseTTL time.Duration
}

// NodeStore is what registration needs of etcd; *store.Store implements it.
type NodeStore interface {
	GrantLease(ctx context.Context, ttl time.Duration) (store.LeaseID, error)
	KeepAlive(ctx context.Context, lease store.LeaseID) (<-chan struct{}, error)
	PutNode(ctx context.Context, node *api.Node, lease store.LeaseID) error
}

var _ NodeStore = (*store.Store)(nil)

// register writes the node under a fresh lease and keeps the lease alive until ctx ends.
// The returned channel closes when renewal stops (the lease expired or etcd went away);
// the caller registers again.
func register(ctx context.Context, st NodeStore, cfg NodeConfig, now time.Time) (<-chan struct{}, error) {
	ttl := cfg.LeaseTTL
	if ttl == 0 {
		ttl = 10 * time.Second
	}
	lease, err := st.GrantLease(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("register node %s: %w", cfg.Name, err)
	}
	if err := st.PutNode(ctx, nodeObject(cfg, now), lease); err != nil {
		return nil, fmt.Errorf("register node %s: %w", cfg.Name, err)
	}
	return st.KeepAlive(ctx, lease)
}

func nodeObject(cfg NodeConfig, now time.Time) *api.Node {
	capacity := cfg.Capacity
	if len(capacity) == 0 {
		capacity = hostCapacity()
	}
	return &api.Node{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindNode},
		Metadata: api.ObjectMeta{Name: cfg.Name, Labels: nodeLabels(cfg)},
		Status: api.NodeStatus{
			Capacity:  capacity,
			Addresses: cfg.Addresses,
			PodCIDR:   cfg.PodCIDR,
			Ready:     true,
			Heartbeat: now.UTC().Format(time.RFC3339),
		},
	}
}

// nodeLabels adds the well-known hostname label, as Kubernetes does, so selectors can pin a node.
func nodeLabels(cfg NodeConfig) map[string]string {
	l := map[string]string{"kubernetes.io/hostname": cfg.Name}
	for k, v := range cfg.Labels {
		l[k] = v
	}
	return l
}

// hostCapacity reads the cpu count and total memory of the machine.
func hostCapacity() api.ResourceList {
	c := api.ResourceList{api.ResourceCPU: strconv.Itoa(runtime.NumCPU())}
	if mem, err := memTotal("/proc/meminfo"); err == nil {
		c[api.ResourceMemory] = strconv.FormatInt(mem, 10)
	}
	return c
}

// memTotal returns MemTotal of a meminfo file in bytes.
func memTotal(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read memory size: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("read memory size: no MemTotal in %s", path)
}
