package scheduler

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func nodeInfos(nodes ...*api.Node) []*NodeInfo {
	out := make([]*NodeInfo, len(nodes))
	for i, n := range nodes {
		out[i] = NewNodeInfo(n)
	}
	return out
}

func TestScheduleFitsNowhere(t *testing.T) {
	tests := []struct {
		name  string
		pod   *api.Pod
		nodes []*NodeInfo
		want  string
	}{
		{name: "no nodes", pod: testPod("p"), want: "0/0 nodes are available: no nodes registered"},
		{
			name: "counts per reason, sorted",
			pod:  testPod("p", selector("disk", "ssd"), requests("2", "1Gi")),
			nodes: nodeInfos(testNode("a", "1", "4Gi", "disk", "ssd"), testNode("b", "4", "4Gi"),
				testNode("c", "4", "4Gi", "disk", "hdd")),
			want: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node selector.",
		},
		{
			name:  "one node, two reasons",
			pod:   testPod("p", requests("2", "8Gi")),
			nodes: nodeInfos(testNode("a", "1", "4Gi"), testNode("b", "1", "16Gi")),
			want:  "0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu.",
		},
		{
			name: "first rejecting filter decides",
			pod:  testPod("p", selector("disk", "ssd"), hostPort(80, "")),
			nodes: []*NodeInfo{NewNodeInfo(notReady(testNode("a", "1", "1Gi"))),
				NewNodeInfo(testNode("b", "1", "1Gi", "disk", "ssd"), testPod("web", hostPort(80, ""))),
				NewNodeInfo(testNode("c", "1", "1Gi", "disk", "ssd"), testPod("web", hostPort(80, "")))},
			want: "0/3 nodes are available: 1 node(s) were not ready, 2 node(s) didn't have free ports for the requested pod ports.",
		},
		{
			name: "taints, node affinity and anti-affinity",
			pod: testPod("p", labels("app", "web"), nodeAffinity([]api.SelectorRequirement{expr("rack", api.OpIn, "r1")}),
				antiAffinity(&api.PodSelector{MatchLabels: map[string]string{"app": "web"}})),
			nodes: []*NodeInfo{
				NewNodeInfo(tainted(testNode("a", "1", "1Gi", "rack", "r1"), api.Taint{Key: "gpu", Value: "true", Effect: api.TaintNoSchedule})),
				NewNodeInfo(tainted(testNode("b", "1", "1Gi", "rack", "r1"), api.Taint{Key: "gpu", Value: "true", Effect: api.TaintNoSchedule})),
				NewNodeInfo(testNode("c", "1", "1Gi", "rack", "r2")),
				NewNodeInfo(testNode("d", "1", "1Gi", "rack", "r1"), testPod("web-0", labels("app", "web")))},
			want: "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity, 1 node(s) didn't match pod anti-affinity rules, " +
				"2 node(s) had untolerated taint {gpu: true}.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node, err := Schedule(tt.pod, tt.nodes, DefaultProfile())
			if err == nil {
				t.Fatalf("Schedule = %q, want a FitError", node)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("FitError:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestScheduleDiagnosisNamesPlugin(t *testing.T) {
	_, err := Schedule(testPod("p", requests("2", "")), nodeInfos(testNode("a", "1", "1Gi")), DefaultProfile())
	if err == nil || err.Diagnosis["a"].Plugin != NodeResourcesFitName || err.Pod != "default/p" {
		t.Fatalf("FitError = %+v, want node a rejected by %s", err, NodeResourcesFitName)
	}
}

func TestScheduleSpreadsReplicas(t *testing.T) {
	nodes := nodeInfos(testNode("a", "4", "8Gi"), testNode("b", "4", "8Gi"), testNode("c", "4", "8Gi"))
	byName := map[string]*NodeInfo{}
	for _, n := range nodes {
		byName[n.Name()] = n
	}
	placed := map[string]int{}
	for i := range 6 {
		pod := testPod(fmt.Sprintf("web-%d", i), owner("Deployment/default/web"), requests("100m", "128Mi"))
		node, err := Schedule(pod, nodes, DefaultProfile())
		if err != nil {
			t.Fatalf("Schedule(%s): %v", pod.Metadata.Name, err)
		}
		pod.Spec.NodeName = node
		byName[node].AddPod(NewPodInfo(pod))
		placed[node]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if placed[n] != 2 {
			t.Fatalf("replicas per node = %v, want 2 on each of 3", placed)
		}
	}
}

func TestSchedulePrefersLeastAllocated(t *testing.T) {
	nodes := []*NodeInfo{
		NewNodeInfo(testNode("busy", "4", "8Gi"), testPod("x", requests("3", "6Gi"))),
		NewNodeInfo(testNode("idle", "4", "8Gi")),
		NewNodeInfo(testNode("small", "1", "1Gi")),
	}
	node, err := Schedule(testPod("p", requests("500m", "512Mi")), nodes, DefaultProfile())
	if err != nil || node != "idle" {
		t.Fatalf("Schedule = %q, %v; want idle", node, err)
	}
}

func TestScheduleTieBreakIsDeterministic(t *testing.T) {
	mk := func() []*NodeInfo {
		return nodeInfos(testNode("a", "2", "4Gi"), testNode("b", "2", "4Gi"), testNode("c", "2", "4Gi"),
			testNode("d", "2", "4Gi"))
	}
	chosen := map[string]bool{}
	for i := range 40 {
		pod := testPod(fmt.Sprintf("p-%d", i))
		nodes := mk()
		first, err := Schedule(pod, nodes, DefaultProfile())
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(nodes)
		names := []string{nodes[0].Name(), nodes[3].Name()}
		again, _ := Schedule(pod, nodes, DefaultProfile())
		if again != first {
			t.Fatalf("%s: %q, then %q with the nodes reversed", pod.Metadata.Name, first, again)
		}
		if names[0] != nodes[0].Name() || names[1] != nodes[3].Name() {
			t.Fatalf("Schedule reordered its argument")
		}
		chosen[first] = true
	}
	if len(chosen) < 3 {
		t.Fatalf("40 pods on 4 equal nodes chose only %v; the tie-break does not spread", chosen)
	}
}

func TestScheduleWeights(t *testing.T) {
	p := Profile{Scores: []WeightedScore{
		{Plugin: fixedScore{node: "a", score: 100}, Weight: 1},
		{Plugin: fixedScore{node: "b", score: 60}, Weight: 2},
		{Plugin: fixedScore{node: "c", score: 1000}, Weight: 1}, // clamped to 100
	}}
	node, err := Schedule(testPod("p"), nodeInfos(testNode("a", "1", "1Gi"), testNode("b", "1", "1Gi"),
		testNode("c", "1", "1Gi")), p)
	if err != nil || node != "b" {
		t.Fatalf("Schedule = %q, %v; want b (2*60 beats 100 and a clamped 1000)", node, err)
	}
}

// fixedScore scores node with score and every other node 0.
type fixedScore struct {
	node  string
	score int64
}

func (f fixedScore) Name() string { return "Fixed" }

func (f fixedScore) Score(_ *PodInfo, n *NodeInfo) int64 {
	if n.Name() == f.node {
		return f.score
	}
	return 0
}
