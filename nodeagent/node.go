package nodeagent

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	retry "github.com/gitfleet/gitfleet/internal/backoff"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// NodeConfig describes the node an agent runs.
type NodeConfig struct {
	Name   string
	Labels map[string]string
	// Addresses are the node's addresses; its InternalIP is where other nodes route its Pods.
	Addresses []api.NodeAddress
	// HostID identifies this host (kept in its data dir): another host cannot take the name.
	HostID string
	// DataDir is where the node keeps its state; its filesystem's free space is DiskPressure.
	DataDir string
	// Capacity overrides what is read from the host (cpu and memory quantities, and pods unless
	// MaxPods is set) when set.
	Capacity api.ResourceList
	// MaxPods is the most Pods the node runs, published as its "pods" capacity, which the
	// scheduler's NodePods filter reads; 0 means DefaultMaxPods.
	MaxPods int
	// LeaseTTL is how long the node stays Ready after the agent's last heartbeat: the grace
	// after which the control plane replaces its Pods elsewhere. 0 means DefaultLeaseTTL.
	LeaseTTL time.Duration
	// LogsEndpoint, set, is where the agent serves its containers' logs (package logserver),
	// published in the node's status.
	LogsEndpoint *api.DaemonEndpoint
}

// DefaultMaxPods is the Pods a node runs at most unless told otherwise: the kubelet's default,
// and what the scheduler assumes of a node whose capacity does not say.
const DefaultMaxPods = 110

// DefaultLeaseTTL is how long a node outlives its agent's last heartbeat.
const DefaultLeaseTTL = 5 * time.Second

// NodeStore is what registration needs of etcd; *store.Store implements it.
type NodeStore interface {
	GrantLease(ctx context.Context, ttl time.Duration) (store.LeaseID, error)
	KeepAlive(ctx context.Context, lease store.LeaseID) (<-chan struct{}, error)
	PutNode(ctx context.Context, node *api.Node) error
	PutNodeLease(ctx context.Context, node string, lease store.LeaseID) error
	GetNodeSpec(ctx context.Context, node string) (api.NodeSpec, int64, error)
	Revision(ctx context.Context) (int64, error)
	Watch(ctx context.Context, r store.Resource, rev int64) <-chan store.Event
}

var _ NodeStore = (*store.Store)(nil)

// Register writes the node's record, refused (store.ErrNodeNameTaken) when another host holds
// the name.
func Register(ctx context.Context, st NodeStore, cfg NodeConfig, now time.Time) error {
	if err := st.PutNode(ctx, nodeObject(cfg, now, nil)); err != nil {
		return fmt.Errorf("register node %s: %w", cfg.Name, err)
	}
	return nil
}

// WaitForPodRange waits until the control plane has assigned the registered node its Pod
// range, and returns the node's spec.
func WaitForPodRange(ctx context.Context, st NodeStore, cfg NodeConfig) (api.NodeSpec, error) {
	rev, err := st.Revision(ctx)
	if err != nil {
		return api.NodeSpec{}, fmt.Errorf("register node %s: %w", cfg.Name, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := st.Watch(wctx, store.NodeSpecs, rev)
	for {
		spec, _, err := st.GetNodeSpec(ctx, cfg.Name)
		if err != nil {
			return api.NodeSpec{}, fmt.Errorf("register node %s: %w", cfg.Name, err)
		}
		if spec.PodCIDR != "" {
			return spec, nil
		}
		select {
		case <-ctx.Done():
			return api.NodeSpec{}, fmt.Errorf("register node %s: wait for a Pod range from the control plane: %w", cfg.Name, context.Cause(ctx))
		case _, ok := <-events:
			if !ok {
				events = st.Watch(wctx, store.NodeSpecs, rev)
			}
		}
	}
}

// heartbeat writes the node's heartbeat key under a fresh lease of the node's TTL and keeps the
// lease alive until ctx ends. The returned channel closes when renewal stops (the lease expired
// or etcd went away); the caller heartbeats again.
func heartbeat(ctx context.Context, st NodeStore, cfg NodeConfig) (<-chan struct{}, error) {
	ttl := cfg.LeaseTTL
	if ttl == 0 {
		ttl = DefaultLeaseTTL
	}
	lease, err := st.GrantLease(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("heartbeat of node %s: %w", cfg.Name, err)
	}
	if err := st.PutNodeLease(ctx, cfg.Name, lease); err != nil {
		return nil, fmt.Errorf("heartbeat of node %s: %w", cfg.Name, err)
	}
	return st.KeepAlive(ctx, lease)
}

// nodeObject is the node's record at now, with conditions (nil: all is well).
func nodeObject(cfg NodeConfig, now time.Time, conditions []api.NodeCondition) *api.Node {
	capacity := maps.Clone(cfg.Capacity)
	if len(capacity) == 0 {
		capacity = hostCapacity()
	}
	if _, set := capacity[api.ResourcePods]; !set || cfg.MaxPods > 0 {
		capacity[api.ResourcePods] = strconv.Itoa(cmp.Or(cfg.MaxPods, DefaultMaxPods))
	}
	if conditions == nil {
		conditions = []api.NodeCondition{{Type: api.NodeReady, Status: api.ConditionTrue, Reason: api.ReasonAgentReported,
			LastTransitionTime: now.UTC().Format(time.RFC3339)}}
	}
	ready := true
	for _, c := range conditions {
		if c.Type == api.NodeReady && c.Status != api.ConditionTrue {
			ready = false
		}
	}
	var daemons *api.NodeDaemonEndpoints
	if cfg.LogsEndpoint != nil {
		daemons = &api.NodeDaemonEndpoints{AgentEndpoint: *cfg.LogsEndpoint}
	}
	return &api.Node{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindNode},
		Metadata: api.ObjectMeta{Name: cfg.Name, Labels: nodeLabels(cfg)},
		Status: api.NodeStatus{
			Capacity:        capacity,
			Allocatable:     capacity,
			Addresses:       cfg.Addresses,
			Ready:           ready,
			Conditions:      conditions,
			Heartbeat:       now.UTC().Format(time.RFC3339),
			HostID:          cfg.HostID,
			DaemonEndpoints: daemons,
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

// Heartbeat keeps the node's heartbeat under a lease until ctx ends, and starts a new one
// whenever the lease is lost: the node is Ready while it runs (and the node reports itself so).
// Start it as soon as Register succeeded, so a node is not NotReady while its agent starts.
func Heartbeat(ctx context.Context, st NodeStore, cfg NodeConfig, log *slog.Logger) {
	bo := retry.New(200*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		lost, err := heartbeat(ctx, st, cfg)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait := bo.Next()
			log.Warn("node heartbeat failed", "err", err, "wait", wait)
			retry.Sleep(ctx, wait)
			continue
		}
		bo.Reset()
		log.Info("node heartbeat started")
		select {
		case <-lost:
			if ctx.Err() == nil {
				log.Warn("node lease lost; heartbeating again")
			}
		case <-ctx.Done():
		}
	}
}
