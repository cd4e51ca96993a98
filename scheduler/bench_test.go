package scheduler

import (
	"fmt"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// The shapes of Nomad's scheduler benchmark (scheduler/benchmarks, BenchmarkPeerNoSubmit), so
// the figures compare: 1,000 nodes, a rack label of 50 values, Pods of 100m / 128Mi.
const (
	benchRacks = 50
	labelRack  = "rack"
)

// halfRacks are the racks the constraint shape's node affinity asks for: "In half the racks".
func halfRacks() []string {
	out := make([]string, benchRacks/2)
	for i := range out {
		out[i] = fmt.Sprintf("r%02d", i)
	}
	return out
}

// benchNodeShape is the capacity of every simulated node.
type benchNodeShape struct {
	name, cpu, mem, pods string
}

var benchNodeShapes = []benchNodeShape{
	{name: "nomad", cpu: "14", mem: "32G"},             // 14,000 MHz / 32 GB
	{name: "kube", cpu: "4", mem: "32Gi", pods: "110"}, // kube-scheduler's perf test node
}

// benchNodes returns count ready nodes of shape, spread evenly over the racks.
func benchNodes(count int, shape benchNodeShape) []store.Item[api.Node] {
	out := make([]store.Item[api.Node], count)
	for i := range out {
		rack := i % benchRacks
		n := testNode(fmt.Sprintf("node-%04d", i), shape.cpu, shape.mem, labelRack, fmt.Sprintf("r%02d", rack))
		if shape.pods != "" {
			n.Status.Capacity[api.ResourcePods] = shape.pods
		}
		out[i] = store.Item[api.Node]{Name: n.Metadata.Name, Value: *n, ModRevision: 1}
	}
	return out
}

// benchPods returns count Pods of shape: the replicas of one Deployment when deployment, else
// Pods owned by nothing.
func benchPods(count int, shape string, deployment bool) []store.Item[api.Pod] {
	out := make([]store.Item[api.Pod], count)
	for i := range out {
		opts := []podOption{requests("100m", "128Mi")}
		if deployment {
			opts = append(opts, owner("Deployment/default/bench"))
		}
		switch shape {
		case "constraint":
			opts = append(opts, nodeAffinity([]api.SelectorRequirement{expr(labelRack, api.OpIn, halfRacks()...)}))
		case "spread":
			// Hard spread over the racks: kube-scheduler's topology spreading shape, where every
			// Pod carries the label the constraint selects, owned by a Deployment or not.
			opts = append(opts, labels("app", "bench"), spread(labelRack, api.DoNotSchedule, 1, "app", "bench"))
		}
		p := testPod(fmt.Sprintf("p-%05d", i), opts...)
		out[i] = store.Item[api.Pod]{Name: podName(p), Value: *p, ModRevision: int64(i + 2)}
	}
	return out
}

// BenchmarkSchedule places every Pending Pod of a cluster, as one scheduler pass does, without
// etcd: binds are taken as done. Shapes: plain; constraint, required node affinity rack In
// half the racks; spread, a hard (DoNotSchedule) topology spread over rack with maxSkew 1. pods/s is the Pods placed per second of the pass;
// nodes/pod the nodes each placement examined (filtered and, when feasible, scored).
func BenchmarkSchedule(b *testing.B) {
	const nodes = 1000
	for _, count := range []int{1000, 5000, 10000} {
		for _, shape := range []string{"plain", "constraint", "spread"} {
			for _, ns := range benchNodeShapes {
				for _, deployment := range []bool{true, false} {
					of := "pods"
					if deployment {
						of = "deployment"
					}
					name := fmt.Sprintf("nodes=%d/pods=%d/shape=%s/node=%s/of=%s", nodes, count, shape, ns.name, of)
					b.Run(name, func(b *testing.B) {
						benchPlace(b, benchNodes(nodes, ns), benchPods(count, shape, deployment))
					})
				}
			}
		}
	}
}

// benchPlace runs one placement pass of pods over nodes per iteration, with the sample sizes of
// the Scheduler's defaults.
func benchPlace(b *testing.B, nodes []store.Item[api.Node], pods []store.Item[api.Pod]) {
	var placed, examined int
	opts := Options{}.withDefaults()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		c := NewCluster()
		c.SetNodes(nodes)
		want := SampleSize(len(nodes), opts.SampleFloor, opts.SamplePercent)
		b.StartTimer()
		for i := range pods {
			pod := pods[i].Value
			pl, fitErr := c.Place(NewPodInfo(&pod), opts.Profile, want)
			examined += pl.Examined
			if fitErr != nil {
				continue
			}
			pod.Spec.NodeName = pl.Node
			c.Assume(store.Item[api.Pod]{Name: pods[i].Name, Value: pod, ModRevision: pods[i].ModRevision})
			placed++
		}
	}
	b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "pods/s")
	b.ReportMetric(float64(examined)/float64(b.N*len(pods)), "nodes/pod")
	b.ReportMetric(float64(placed)/float64(b.N*len(pods)), "placed/pod")
}
