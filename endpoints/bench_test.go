package endpoints

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// BenchmarkReadyToEndpoints measures, with a real embedded etcd, the time from an agent's
// report that a Pod is ready to the Service's endpoints record showing it ready, as a node's
// cache sees it: each iteration makes a Service of 100 Pods that run unready, then reports them
// ready one at a time, each after the record showed the previous one. It reports the median and
// the 99th percentile over every Pod of every iteration.
//
//	go test -run '^$' -bench BenchmarkReadyToEndpoints -benchtime 1x -count 3 ./endpoints/
func BenchmarkReadyToEndpoints(b *testing.B) {
	const pods = 100
	st := etcdtest.Start(b)
	registerNode(b, st, "n1")
	start(b, st)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	records := store.NewCache(st, store.Endpoints, store.DecodeJSON[api.Endpoints], store.CacheOptions{})
	changed := make(chan struct{}, 1)
	go records.Run(ctx, func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		name := fmt.Sprintf("web%d", i)
		labels := map[string]string{"app": name}
		putService(b, st, service(name, labels, api.ServicePort{Port: 80}))
		all := make([]api.Pod, pods)
		for j := range all {
			all[j] = pod(fmt.Sprintf("%s-%03d", name, j), labels, ipOf(i, j), api.PodRunning, false)
			createPod(b, st, all[j])
		}
		waitReady(ctx, b, records, changed, name, pods, 0)
		b.StartTimer()
		for j, p := range all {
			t0 := time.Now()
			report(b, st, p, api.PodStatus{Phase: api.PodRunning, Ready: true, PodIP: ipOf(i, j)})
			waitReady(ctx, b, records, changed, name, pods, j+1)
			took = append(took, time.Since(t0))
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[(len(took)*99-1)/100].Microseconds())/1000, "p99-ms")
}

func ipOf(i, j int) string { return fmt.Sprintf("10.%d.%d.%d", 1+i/256, i%256, 1+j) }

// waitReady waits until the cached record of default/name has n endpoints, ready of them
// ready.
func waitReady(ctx context.Context, b *testing.B, records *store.Cache[api.Endpoints], changed <-chan struct{}, name string, n, ready int) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if it, ok := records.Get("default/" + name); ok && len(it.Value.Endpoints) == n && it.Value.ReadyCount() == ready {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			b.Fatalf("record of %s never showed %d of %d ready", name, ready, n)
		}
	}
}
