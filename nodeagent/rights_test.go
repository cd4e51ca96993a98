package nodeagent

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/leader"
	"github.com/gitfleet/gitfleet/nodeipam"
	"github.com/gitfleet/gitfleet/noderights"
	"github.com/gitfleet/gitfleet/scheduler"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/workload"
)

// TestLoopsUnderLeastRights runs the control plane's loops and a node's agent against an etcd
// with auth, each as its own identity and each controller under its election, as a cluster
// runs them: node IPAM and the workload controller as controller, the scheduler as scheduler,
// noderights as admin, the agent as node:n1 (on a runtime of this package's tests: the runtime
// is not what is tested). A committed Deployment that reads a ConfigMap, and one with host
// access in a privileged Namespace, must end Running on n1, as the viewer sees them, with its
// health recorded, and no loop may have been refused anything on the way.
func TestLoopsUnderLeastRights(t *testing.T) {
	ctx := t.Context()
	admin, srv := etcdtest.StartTLS(t)
	if err := admin.EnableAuth(ctx); err != nil {
		t.Fatal(err)
	}
	if err := admin.EnsureNodeUser(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
		if strings.Contains(logs.String(), "permission denied") {
			t.Error("a loop was refused by etcd")
		}
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	elected := func(st *store.Store, role string, build func(st *store.Store) interface{ Run(context.Context) error }) {
		wg.Go(func() {
			err := leader.Run(runCtx, st, leader.Config{Role: role, Identity: "host-1", TTL: 2 * time.Second}, log,
				func(ctx context.Context, f store.Fence) error { return build(st.Fenced(f)).Run(ctx) })
			if err != nil {
				t.Errorf("%s: %v", role, err)
			}
		})
	}
	ranges, err := nodeipam.NewRanges(nodeipam.DefaultClusterCIDR, nodeipam.DefaultNodeBits)
	if err != nil {
		t.Fatal(err)
	}
	controller, sched := srv.ConnectAs(t, store.UserController), srv.ConnectAs(t, store.UserScheduler)
	elected(controller, store.ElectionNodeIPAM, func(st *store.Store) interface{ Run(context.Context) error } {
		return nodeipam.New(st, ranges, log.With("role", "nodeipam"))
	})
	elected(controller, store.ElectionWorkloads, func(st *store.Store) interface{ Run(context.Context) error } {
		return workload.NewController(st, log.With("role", "workloads"), workload.Options{Resync: time.Second})
	})
	elected(sched, store.ElectionScheduler, func(st *store.Store) interface{ Run(context.Context) error } {
		return scheduler.New(st, log.With("role", "scheduler"), scheduler.Options{Resync: time.Second})
	})
	elected(admin, store.ElectionNodeRights, func(st *store.Store) interface{ Run(context.Context) error } {
		return noderights.New(st, log.With("role", "noderights"), noderights.Options{})
	})

	// The agent of n1, in the order cmd/gitfleet's agent role runs it.
	node := srv.ConnectAs(t, store.NodeUser("n1"))
	cfg := NodeConfig{Name: "n1", HostID: "host-1", LeaseTTL: 2 * time.Second,
		Addresses: []api.NodeAddress{{Type: api.NodeInternalIP, Address: "10.0.0.1"}},
		Capacity:  api.ResourceList{api.ResourceCPU: "4", api.ResourceMemory: "8Gi"}}
	if err := Register(ctx, node, cfg, time.Now()); err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { Heartbeat(runCtx, node, cfg, log.With("role", "heartbeat")) })
	spec, err := WaitForPodRange(ctx, node, cfg)
	if err != nil {
		t.Fatal(err)
	}
	routes := &seenRoutes{}
	agent := NewAgent(node, newFakeRuntime(time.Now()), log.With("role", "agent"),
		AgentOptions{Node: cfg, Routes: routes, Resync: 100 * time.Millisecond})
	wg.Go(func() { agent.Run(runCtx) })

	commitApps(t, controller)
	viewer := srv.ConnectAs(t, store.UserViewer)
	fixture.WaitFor(t, "the Pods running on n1", func() bool {
		pods, err := viewer.ListPodsWithStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		running := 0
		for _, p := range pods {
			if p.Spec.NodeName == "n1" && p.Status.Phase == api.PodRunning && p.Status.Ready {
				running++
			}
		}
		return running == 3
	})
	fixture.WaitFor(t, "the health recorded", func() bool {
		h, err := viewer.GetHealth(ctx, api.DefaultSource)
		return err == nil && h.Health == api.HealthHealthy
	})
	if got := routes.last(); got != "n1:"+spec.PodCIDR {
		t.Errorf("routes synced for %q, want n1 with its range %s", got, spec.PodCIDR)
	}
}

// commitApps commits, as the sync controller would, a Deployment of two Pods reading ConfigMap
// "app", and a Deployment of one Pod with a hostPort in Namespace "infra", labelled privileged.
func commitApps(t *testing.T, controller *store.Store) {
	t.Helper()
	web := fixture.Deployment("web", 2, "gitfleet.local/busybox:1")
	web.Spec.Template.Spec = fixture.ConfigPod("x", "gitfleet.local/busybox:1").Spec
	edge := fixture.Deployment("edge", 1, "gitfleet.local/busybox:1")
	edge.Metadata.Namespace = "infra"
	edge.Spec.Template.Spec.Containers[0].Ports = []api.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
	infra := fixture.Namespace("infra")
	infra.Metadata.Labels = map[string]string{api.LabelPodSecurityEnforce: api.PodSecurityPrivileged}
	var writes []store.Write
	for _, o := range []api.Object{fixture.Namespace(api.DefaultNamespace), infra,
		fixture.ConfigMap(api.DefaultNamespace, "app", map[string]string{"greeting": "hello", "message": "hi"}), web, edge} {
		writes = append(writes, store.Write{Key: api.KeyOf(o), Object: o})
	}
	status := api.SyncStatus{Source: api.DefaultSource, SeenCommit: "c1", AppliedCommit: "c1", Sync: api.SyncSynced}
	if _, err := controller.CommitSync(t.Context(), store.SyncRecord{Writes: writes, Status: status}); err != nil {
		t.Fatalf("commit as controller: %v", err)
	}
}

// seenRoutes keeps the last nodes the agent routed to, as "self:range,range".
type seenRoutes struct {
	mu     sync.Mutex
	synced string
}

func (r *seenRoutes) Sync(_ context.Context, self string, nodes []api.Node) error {
	var cidrs []string
	for _, n := range nodes {
		cidrs = append(cidrs, n.Spec.PodCIDR)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.synced = fmt.Sprintf("%s:%s", self, strings.Join(cidrs, ","))
	return nil
}

func (r *seenRoutes) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced
}
