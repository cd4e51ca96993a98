package nodeagent_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// scaleDownKept is how many of the 50 Pods BenchmarkScaleDown keeps.
const scaleDownKept = 3

// BenchmarkScaleDown measures 50 Pods scaled to 3 with a 2s grace that the Pods ignore (busybox
// as PID 1 does not die of SIGTERM), from the deletes to two points: the 47 main processes
// ended (stopped-ms, seen through pidfds opened before) and the 47 Pods gone from containerd
// and their networks torn down (removed-ms). The agent's side deletes the Pods in etcd; the
// floor stops the same 47 containers straight through the containerd client, each at once:
// SIGTERM, SIGKILL after the grace, task and container deleted, network torn down. The metrics
// are medians over the iterations (-benchtime 5x for a median of 5).
//
//	go test -run '^$' -bench BenchmarkScaleDown -benchtime 5x ./nodeagent/
func BenchmarkScaleDown(b *testing.B) {
	if !netnstest.RunB(b) {
		return
	}
	env := newFiftyEnv(b, 0) // the Pods' own grace
	var agent, raw []scaleDown
	alternate(b.N,
		func() { agent = append(agent, env.agentScaleDown(b)) },
		func() { raw = append(raw, env.rawScaleDown(b)) })
	as, ar := medians(agent)
	rs, rr := medians(raw)
	b.ReportMetric(float64(as.Milliseconds()), "stopped-ms")
	b.ReportMetric(float64(ar.Milliseconds()), "removed-ms")
	b.ReportMetric(float64(rs.Milliseconds()), "raw-stopped-ms")
	b.ReportMetric(float64(rr.Milliseconds()), "raw-removed-ms")
	b.ReportMetric(0, "ns/op") // an iteration's time is mostly the 50 starts
	b.Logf("agent %v, raw %v", agent, raw)
}

// scaleDown is one scale-down's times from the deletes.
type scaleDown struct{ stopped, removed time.Duration }

func (s scaleDown) String() string { return fmt.Sprintf("%v/%v", s.stopped, s.removed) }

func medians(runs []scaleDown) (stopped, removed time.Duration) {
	var s, r []time.Duration
	for _, run := range runs {
		s, r = append(s, run.stopped), append(r, run.removed)
	}
	return median(s), median(r)
}

// agentScaleDown runs the 50 Pods through an agent, deletes 47 of them in etcd and times their
// end; then it deletes the rest and stops the agent.
func (env *fiftyEnv) agentScaleDown(b *testing.B) scaleDown {
	ctx := b.Context()
	for i := range fiftyPods {
		if err := env.st.CreatePod(ctx, fiftyPod(i)); err != nil {
			b.Fatal(err)
		}
	}
	a := nodeagent.NewAgent(env.st, env.rt, env.log, nodeagent.AgentOptions{Node: nodeagent.NodeConfig{Name: "node-a"}})
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(actx)
	}()
	defer func() { cancel(); <-done }()
	env.waitRunning(b)
	procs := testenv.OpenPidfds(b, env.agentPIDs(b))
	start := time.Now()
	for i := scaleDownKept; i < fiftyPods; i++ {
		p := fiftyPod(i)
		if err := env.st.DeletePod(ctx, p.Metadata.Namespace, p.Metadata.Name, 0); err != nil {
			b.Fatal(err)
		}
	}
	var took scaleDown
	took.stopped = waitUntil(b, func() error { return testenv.Ended(procs) }).Sub(start)
	took.removed = waitUntil(b, func() error { return env.podsListed(b, scaleDownKept) }).Sub(start)
	for i := range scaleDownKept {
		p := fiftyPod(i)
		if err := env.st.DeletePod(ctx, p.Metadata.Namespace, p.Metadata.Name, 0); err != nil {
			b.Fatal(err)
		}
	}
	waitUntil(b, func() error { return env.podsListed(b, 0) })
	return took
}

// agentPIDs are the main processes of the Pods the scale-down deletes, read from containerd.
func (env *fiftyEnv) agentPIDs(b *testing.B) []uint32 {
	cl, err := client.New(env.addr, client.WithDefaultNamespace(env.ns))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	var pids []uint32
	for i := scaleDownKept; i < fiftyPods; i++ {
		ctrs, err := cl.Containers(b.Context(), fmt.Sprintf(`labels."gitfleet.io/pod-name"==%s`, fiftyPod(i).Metadata.Name))
		if err != nil || len(ctrs) != 1 {
			b.Fatalf("container of %s: %d found, %v", fiftyPod(i).Metadata.Name, len(ctrs), err)
		}
		task, err := ctrs[0].Task(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		pids = append(pids, task.Pid())
	}
	return pids
}

// podsListed fails unless the agent's runtime lists exactly n Pods, counting the networks of
// Pods with no container left.
func (env *fiftyEnv) podsListed(b *testing.B, n int) error {
	sbs, err := env.rt.List(b.Context())
	if err != nil {
		return err
	}
	if len(sbs) != n {
		return fmt.Errorf("%d pods listed, want %d", len(sbs), n)
	}
	return nil
}

// rawScaleDown starts the 50 containers straight through containerd, then stops and removes
// 47 of them at once as a plain containerd client would, and times their end.
func (env *fiftyEnv) rawScaleDown(b *testing.B) scaleDown {
	raw := env.newRaw(b)
	raw.startAll(b)
	defer func() {
		if err := raw.removeAll(context.WithoutCancel(b.Context())); err != nil {
			b.Error(err)
		}
	}()
	ctx := b.Context()
	tasks := make([]client.Task, 0, fiftyPods-scaleDownKept)
	var pids []uint32
	for i := scaleDownKept; i < fiftyPods; i++ {
		ctr, err := raw.cl.LoadContainer(ctx, "raw-"+fiftyPod(i).Metadata.Name)
		if err != nil {
			b.Fatal(err)
		}
		task, err := ctr.Task(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		tasks, pids = append(tasks, task), append(pids, task.Pid())
	}
	procs := testenv.OpenPidfds(b, pids)
	start := time.Now()
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, task := range tasks {
		wg.Go(func() { errs[i] = raw.stop(ctx, task, fiftyPod(scaleDownKept+i), 2*time.Second) })
	}
	var took scaleDown
	took.stopped = waitUntil(b, func() error { return testenv.Ended(procs) }).Sub(start)
	wg.Wait()
	took.removed = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return took
}

// stop is a plain client's stop: SIGTERM, SIGKILL to every process after the grace, then the
// task, the container with its snapshot and the network.
func (r *rawSide) stop(ctx context.Context, task client.Task, pod *api.Pod, grace time.Duration) error {
	exited, err := task.Wait(ctx)
	if err != nil {
		return fmt.Errorf("wait %s: %w", task.ID(), err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
		return fmt.Errorf("sigterm %s: %w", task.ID(), err)
	}
	select {
	case <-exited:
	case <-time.After(grace):
		if err := task.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil {
			return fmt.Errorf("sigkill %s: %w", task.ID(), err)
		}
		<-exited
	}
	if _, err := task.Delete(ctx); err != nil {
		return fmt.Errorf("delete task %s: %w", task.ID(), err)
	}
	ctr, err := r.cl.LoadContainer(ctx, task.ID())
	if err != nil {
		return err
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		return fmt.Errorf("delete %s: %w", task.ID(), err)
	}
	return r.net.Teardown(ctx, task.ID(), api.PodKeyOf(pod))
}
