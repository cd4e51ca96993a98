package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// BenchmarkBindEtcd measures binds per second end to end: a Scheduler on a real embedded etcd
// with 1,000 nodes registered binds pods Pending Pods, each a compare-and-swap transaction, from
// its start (the first list included) until every Pod is bound. It compares with kube-scheduler
// against a real apiserver and etcd, and with Nomad's in-memory plan apply.
func BenchmarkBindEtcd(b *testing.B) {
	for _, shape := range []string{"plain", "spread"} {
		b.Run(fmt.Sprintf("nodes=1000/pods=1000/shape=%s", shape), func(b *testing.B) {
			st := etcdtest.Start(b)
			ctx := context.Background()
			lease, err := st.GrantLease(ctx, time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			for _, it := range benchNodes(1000, benchNodeShapes[0]) {
				if err := st.PutNode(ctx, &it.Value); err != nil {
					b.Fatal(err)
				}
				if err := st.PutNodeLease(ctx, it.Name, lease); err != nil {
					b.Fatal(err)
				}
			}
			var bound int
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				pods := benchPods(1000, shape, true)
				for j := range pods {
					pods[j].Value.Metadata.Name = fmt.Sprintf("r%d-%s", i, pods[j].Value.Metadata.Name)
					if err := st.CreatePod(ctx, &pods[j].Value); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				bindAll(b, st, len(pods)*(i+1))
				bound += len(pods)
			}
			b.ReportMetric(float64(bound)/b.Elapsed().Seconds(), "pods/s")
		})
	}
}

// bindAll runs a Scheduler of st until want Pods are bound.
func bindAll(b *testing.B, st *store.Store, want int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(st, nil, Options{Resync: time.Hour}).Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("Run: %v", err)
		}
	}()
	for {
		pods, _, err := st.ListPods(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, p := range pods {
			if p.Value.Spec.NodeName != "" {
				n++
			}
		}
		if n >= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
