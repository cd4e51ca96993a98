package nodeagent

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

// Hollow nodes, as kubemark's: real agents against a real etcd, with an in-memory runtime.
var (
	hollowNodes = flag.Int("hollow-nodes", 1000, "hollow nodes in BenchmarkHollowNodes")
	hollowPods  = flag.Int("hollow-pods", 30, "Pods bound to each hollow node")
	hollowRest  = flag.Duration("hollow-rest", 5*time.Second, "how long to measure the agents at rest")
)

// BenchmarkHollowNodes registers -hollow-nodes nodes with -hollow-pods Pods each in one etcd and
// runs an agent per node, with its own etcd client whose received bytes are counted. It reports
// the bytes all agents read per second at rest (resync passes, no change), and the time one
// agent takes to start its Pods, once with the per-node index (each agent lists its own Pods)
// and once as before it (each agent lists every Pod and keeps its own).
//
//	go test -run '^$' -bench BenchmarkHollowNodes -benchtime 1x ./nodeagent/ -hollow-nodes 1000
func BenchmarkHollowNodes(b *testing.B) {
	_, eps := etcdtest.StartWithEndpoints(b)
	seed := etcdtest.ConnectCounted(b, eps, new(atomic.Int64))
	nodes, pods := *hollowNodes, *hollowPods
	bindHollowPods(b, seed, nodes, pods)
	for _, mode := range []string{"index", "list-all"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				restBytes, start := runHollow(b, eps, nodes, pods, mode == "list-all")
				b.ReportMetric(restBytes/1e6, "MB/s-at-rest")
				b.ReportMetric(float64(start.Milliseconds()), "ms-to-start-30")
			}
		})
	}
}

// bindHollowPods writes nodes*pods Pods, each bound (and indexed) to its node.
func bindHollowPods(b *testing.B, st *store.Store, nodes, pods int) {
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for n := range nodes {
		for i := range pods {
			p := fixture.SleepPod(fmt.Sprintf("p-%04d-%02d", n, i), "gitfleet.local/busybox:1", "", "main")
			p.Spec.NodeName = fmt.Sprintf("hollow-%04d", n)
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := st.CreatePod(ctx, p); err != nil {
					b.Error(err)
				}
			})
		}
	}
	wg.Wait()
}

// runHollow starts the agents, waits until the first has started its Pods (the time it took),
// measures the bytes read at rest, and stops them.
func runHollow(b *testing.B, eps []string, nodes, pods int, listAll bool) (float64, time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	var read atomic.Int64
	var wg sync.WaitGroup
	first := newFakeRuntime(t0)
	start := time.Now()
	for n := range nodes {
		var st AgentStore = etcdtest.ConnectCounted(b, eps, &read)
		if listAll {
			st = listAllStore{st.(*store.Store)}
		}
		rt := first
		if n > 0 {
			rt = newFakeRuntime(t0)
		}
		a := NewAgent(st, rt, fixture.Logger(b), AgentOptions{Node: NodeConfig{Name: fmt.Sprintf("hollow-%04d", n)}})
		wg.Go(func() { _ = a.session(ctx) }) // registration is not what is measured
	}
	for {
		if sbs, _ := first.List(ctx); len(sbs) == pods {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	time.Sleep(2 * time.Second) // every agent has started its Pods: rest begins
	before := read.Load()
	time.Sleep(*hollowRest)
	rate := float64(read.Load()-before) / hollowRest.Seconds()
	cancel()
	wg.Wait()
	return rate, took
}

// listAllStore reads a node's Pods as the agent did before the per-node index: it lists every
// Pod of the cluster and keeps those bound to the node.
type listAllStore struct{ *store.Store }

func (s listAllStore) ListNodePods(ctx context.Context, node string) ([]store.Item[api.Pod], int64, error) {
	all, rev, err := s.ListPods(ctx)
	var out []store.Item[api.Pod]
	for _, it := range all {
		if it.Value.Spec.NodeName == node {
			out = append(out, it)
		}
	}
	return out, rev, err
}

func (s listAllStore) WatchNodePods(ctx context.Context, _ string, rev int64) <-chan store.Event {
	return s.Watch(ctx, store.Pods, rev)
}
