package workload_test

import (
	"context"
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/scheduler"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/workload"
)

var (
	readPods    = flag.Int("read-pods", 1000, "replicas of the Deployment in BenchmarkReadPerChange")
	readChanges = flag.Int("read-changes", 100, "changes of each kind in BenchmarkReadPerChange")
)

// BenchmarkReadPerChange runs a scheduler and the workload controller, each with its own etcd
// client whose received bytes are counted, over a Deployment of -read-pods bound Pods, then makes
// -read-changes Pod status changes (as agents report them) and as many Pod changes (an
// annotation), one every 20ms, and reports the bytes each read per change.
//
//	go test -run '^$' -bench BenchmarkReadPerChange -benchtime 1x ./workload/
func BenchmarkReadPerChange(b *testing.B) {
	_, eps := etcdtest.StartWithEndpoints(b)
	seed := etcdtest.ConnectCounted(b, eps, new(atomic.Int64))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 3 {
		n := &api.Node{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindNode},
			Metadata: api.ObjectMeta{Name: fmt.Sprintf("n%d", i)}, Status: api.NodeStatus{Ready: true,
				Capacity: api.ResourceList{api.ResourceCPU: "1000", api.ResourceMemory: "1000Gi", "pods": "10000"}}}
		lease, err := seed.GrantLease(ctx, time.Hour)
		if err == nil {
			err = seed.PutNode(ctx, n)
		}
		if err == nil {
			err = seed.PutNodeLease(ctx, n.Metadata.Name, lease)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	web := fixture.Deployment("web", int32(*readPods), "nginx:1")
	if _, err := seed.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(web), Object: web}},
		Status: api.SyncStatus{Source: api.DefaultSource, AppliedCommit: "c1", Sync: api.SyncSynced}}); err != nil {
		b.Fatal(err)
	}
	var schedRead, wlRead atomic.Int64
	go scheduler.New(etcdtest.ConnectCounted(b, eps, &schedRead), nil, scheduler.Options{Resync: time.Hour}).Run(ctx)
	go workload.NewController(etcdtest.ConnectCounted(b, eps, &wlRead), nil, workload.Options{Resync: time.Hour}).Run(ctx)
	pods := waitBound(b, seed, *readPods)
	time.Sleep(time.Second) // let both settle: health records, the last binds' events
	for range b.N {
		for _, kind := range []string{"status", "pod"} {
			schedRead.Store(0)
			wlRead.Store(0)
			for i := range *readChanges {
				it := pods[i%len(pods)]
				if err := change(ctx, seed, kind, it, i); err != nil {
					b.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(time.Second)
			n := float64(*readChanges)
			b.ReportMetric(float64(schedRead.Load())/n, "sched-B/"+kind+"-change")
			b.ReportMetric(float64(wlRead.Load())/n, "workload-B/"+kind+"-change")
		}
	}
}

// change makes the i-th change of kind to the Pod it: a status report, or a new annotation.
func change(ctx context.Context, st *store.Store, kind string, it store.Item[api.Pod], i int) error {
	p := it.Value
	if kind == "status" {
		ready := i%2 == 0
		return st.PutPodStatus(ctx, p.Spec.NodeName, p.Metadata.Namespace, p.Metadata.Name, 0,
			api.PodStatus{Phase: api.PodRunning, Ready: ready, Message: fmt.Sprint("change ", i)})
	}
	cur, rev, err := st.GetPod(ctx, p.Metadata.Namespace, p.Metadata.Name)
	if err != nil {
		return err
	}
	cur.Metadata.Annotations["bench"] = fmt.Sprint(i)
	return st.UpdatePod(ctx, &cur, rev)
}

// waitBound waits until n Pods exist, all bound, and returns them.
func waitBound(b *testing.B, st *store.Store, n int) []store.Item[api.Pod] {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pods, _, err := st.ListPods(context.Background())
		bound := 0
		for _, p := range pods {
			if p.Value.Spec.NodeName != "" {
				bound++
			}
		}
		if err == nil && len(pods) == n && bound == n {
			return pods
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d pods, %d bound, %v; want %d bound", len(pods), bound, err, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
