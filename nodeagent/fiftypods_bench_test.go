package nodeagent_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/containerd"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
	"github.com/gitfleet/gitfleet/store"
)

// fiftyPods is the number of Pods of BenchmarkFiftyPods.
const fiftyPods = 50

// BenchmarkFiftyPods measures, in one run and one network namespace of its own, the time from
// an agent's start to 50 Pods bound to its node all reported Running in etcd (a real etcd, the
// machine's containerd, CNI), and the floor under it: the same 50 containers, each in a network
// namespace of its own through the same CNI plugins, created and started straight through the
// containerd client, all at once. Each iteration runs both, the order alternating; the metrics
// are the medians over the iterations (-benchtime 5x for a median of 5).
//
//	go test -run '^$' -bench BenchmarkFiftyPods -benchtime 5x ./nodeagent/
func BenchmarkFiftyPods(b *testing.B) {
	if !netnstest.RunB(b) {
		return
	}
	env := newFiftyEnv(b, time.Second)
	var agent, raw []time.Duration
	alternate(b.N,
		func() { agent = append(agent, env.agentRun(b)) },
		func() { raw = append(raw, env.rawRun(b)) })
	a, r := median(agent), median(raw)
	b.ReportMetric(float64(a.Milliseconds()), "agent-ms")
	b.ReportMetric(float64(r.Milliseconds()), "raw-ms")
	b.ReportMetric(100*(a.Seconds()-r.Seconds())/r.Seconds(), "overhead-%")
	b.ReportMetric(0, "ns/op") // an iteration's time is mostly setup and cleanup
	b.Logf("agent %v, raw %v", agent, raw)
}

// alternate runs agent and raw n times each, taking turns at going first, so that neither
// always runs on what the other left behind.
func alternate(n int, agent, raw func()) {
	for i := range n {
		if i%2 == 0 {
			agent()
			raw()
		} else {
			raw()
			agent()
		}
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// fiftyEnv is what both runs share: the containerd namespace with the busybox image, etcd and
// the agent's runtime.
type fiftyEnv struct {
	addr, ns string
	st       *store.Store
	rt       *containerd.Runtime
	log      *slog.Logger
	dir      string
}

// newFiftyEnv makes the environment; stopTimeout caps the Pods' grace in the agent's runtime
// (0: their own).
func newFiftyEnv(b *testing.B, stopTimeout time.Duration) *fiftyEnv {
	addr := testenv.RequireContainerd(b)
	env := &fiftyEnv{addr: addr, ns: testenv.Namespace(b, addr), st: etcdtest.Start(b), dir: b.TempDir(),
		log: slog.New(slog.NewTextHandler(b.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
	rt, err := containerd.New(b.Context(), containerd.Config{Address: addr, Namespace: env.ns, NodeName: "node-a",
		DataDir: filepath.Join(env.dir, "agent"), StopTimeout: stopTimeout}, env.log)
	if err != nil {
		b.Fatalf("new runtime: %v", err)
	}
	b.Cleanup(func() { rt.Close() })
	if _, err := rt.ImportArchive(b.Context(), testimage.BuildBusybox(b, b.TempDir())); err != nil {
		b.Fatalf("import: %v", err)
	}
	env.rt = rt
	return env
}

func fiftyPod(i int) *api.Pod {
	p := fixture.SleepPod(fmt.Sprintf("p-%02d", i), testimage.Ref, "", "main")
	grace := int64(2) // BenchmarkScaleDown's; BenchmarkFiftyPods' runtime caps it at 1s
	p.Spec.NodeName, p.Spec.TerminationGracePeriodSeconds = "node-a", &grace
	return p
}

// agentRun binds the Pods in etcd, then times an agent from its start to all of them Running
// in etcd; it removes them after.
func (env *fiftyEnv) agentRun(b *testing.B) time.Duration {
	ctx := b.Context()
	for i := range fiftyPods {
		if err := env.st.CreatePod(ctx, fiftyPod(i)); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	a := nodeagent.NewAgent(env.st, env.rt, env.log, nodeagent.AgentOptions{Node: nodeagent.NodeConfig{Name: "node-a"}})
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(actx)
	}()
	env.waitRunning(b)
	took := time.Since(start)
	cancel()
	<-done
	for i := range fiftyPods {
		p := fiftyPod(i)
		if err := env.rt.RemovePod(ctx, api.PodKeyOf(p)); err != nil {
			b.Fatal(err)
		}
		if err := env.st.DeletePod(ctx, p.Metadata.Namespace, p.Metadata.Name, 0); err != nil {
			b.Fatal(err)
		}
	}
	return took
}

// waitRunning polls etcd until every Pod's status is Running.
func (env *fiftyEnv) waitRunning(b *testing.B) {
	waitUntil(b, func() error {
		sts, _, err := env.st.ListPodStatuses(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		running := 0
		for _, s := range sts {
			if s.Phase == api.PodRunning {
				running++
			}
		}
		if running != fiftyPods {
			return fmt.Errorf("%d of %d pods running", running, fiftyPods)
		}
		return nil
	})
}

// waitUntil polls check every 10ms until it passes and returns when it did; it fails b after
// 5 minutes.
func waitUntil(b *testing.B, check func() error) time.Time {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := check()
		if err == nil {
			return time.Now()
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 5m: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawRun times the floor: for each Pod at once, a network namespace set up through podnet's CNI
// plugins, then a container made from the same image and started with its output to a file,
// as the agent's are. It removes them after.
func (env *fiftyEnv) rawRun(b *testing.B) time.Duration {
	raw := env.newRaw(b)
	took := raw.startAll(b)
	if err := raw.removeAll(b.Context()); err != nil {
		b.Fatal(err)
	}
	return took
}

// rawSide starts and removes the floor's containers: straight through the containerd client
// and podnet, without the agent.
type rawSide struct {
	env *fiftyEnv
	cl  *client.Client
	net *podnet.Network
	img client.Image
}

func (env *fiftyEnv) newRaw(b *testing.B) *rawSide {
	cl, err := client.New(env.addr, client.WithDefaultNamespace(env.ns))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cl.Close() })
	net, err := podnet.New(podnet.Config{}, filepath.Join(env.dir, "raw"), env.log)
	if err != nil {
		b.Fatal(err)
	}
	img, err := cl.GetImage(b.Context(), testimage.Ref)
	if err != nil {
		b.Fatal(err)
	}
	return &rawSide{env: env, cl: cl, net: net, img: img}
}

// startAll starts the 50 containers at once and returns the time until all have started.
func (r *rawSide) startAll(b *testing.B) time.Duration {
	start := time.Now()
	errs := make([]error, fiftyPods)
	var wg sync.WaitGroup
	for i := range fiftyPods {
		wg.Go(func() { errs[i] = r.env.rawStart(b.Context(), r.cl, r.net, r.img, fiftyPod(i)) })
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(errors.Join(err, r.removeAll(b.Context())))
	}
	return took
}

func (r *rawSide) removeAll(ctx context.Context) error { return r.env.rawRemove(ctx, r.cl, r.net) }

func (env *fiftyEnv) rawStart(ctx context.Context, cl *client.Client, net *podnet.Network, img client.Image, pod *api.Pod) error {
	id := "raw-" + pod.Metadata.Name
	att, err := net.Setup(ctx, id, pod)
	if err != nil {
		return err
	}
	ctr, err := cl.NewContainer(ctx, id, client.WithImage(img), client.WithNewSnapshot(id, img),
		client.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "1000"),
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: att.NetNSPath})),
		client.WithContainerLabels(map[string]string{"bench": "raw"}))
	if err != nil {
		return fmt.Errorf("create %s: %w", id, err)
	}
	task, err := ctr.NewTask(ctx, cio.LogFile(filepath.Join(env.dir, "raw", id+".log")))
	if err != nil {
		return fmt.Errorf("create task %s: %w", id, err)
	}
	if err := task.Start(ctx); err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

// rawRemove kills and deletes the raw containers and tears their networks down.
func (env *fiftyEnv) rawRemove(ctx context.Context, cl *client.Client, net *podnet.Network) error {
	ctrs, err := cl.Containers(ctx, `labels."bench"==raw`)
	if err != nil {
		return err
	}
	var errs []error
	for _, ctr := range ctrs {
		if task, err := ctr.Task(ctx, nil); err == nil {
			_, err = task.Delete(ctx, client.WithProcessKill)
			errs = append(errs, err)
		}
		errs = append(errs, ctr.Delete(ctx, client.WithSnapshotCleanup))
	}
	for i := range fiftyPods {
		p := fiftyPod(i)
		errs = append(errs, net.Teardown(ctx, "raw-"+p.Metadata.Name, api.PodKeyOf(p)))
	}
	return errors.Join(errs...)
}
