package scheduler

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

func spread(key, when string, maxSkew int32, kv ...string) podOption {
	return func(p *api.Pod) {
		sel := &api.PodSelector{MatchLabels: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			sel.MatchLabels[kv[i]] = kv[i+1]
		}
		p.Spec.TopologySpreadConstraints = append(p.Spec.TopologySpreadConstraints,
			api.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: when, LabelSelector: sel})
	}
}

// TestPodTopologySpreadFilter: racks r1, r2, r3 hold 2, 1 and 0 web Pods; a web Pod with
// maxSkew 1 may go to r3 only, or to r2 and r3 with maxSkew 2.
func TestPodTopologySpreadFilter(t *testing.T) {
	web := labels("app", "web")
	nodes := []*NodeInfo{
		NewNodeInfo(testNode("a", "4", "4Gi", "rack", "r1"), testPod("w0", web), testPod("w1", web)),
		NewNodeInfo(testNode("b", "4", "4Gi", "rack", "r2"), testPod("w2", web), testPod("db", labels("app", "db"))),
		NewNodeInfo(testNode("c", "4", "4Gi", "rack", "r3")),
		NewNodeInfo(testNode("d", "4", "4Gi")),
	}
	skew := NewStatus(Unschedulable, ReasonSpreadSkew)
	missing := NewStatus(UnschedulableAndUnresolvable, ReasonSpreadMissingLabel)
	tests := []struct {
		name string
		pod  *api.Pod
		want []*Status // per node
	}{
		{name: "no constraint", pod: testPod("p", web), want: []*Status{nil, nil, nil, nil}},
		{name: "maxSkew 1", pod: testPod("p", web, spread("rack", api.DoNotSchedule, 1, "app", "web")),
			want: []*Status{skew, skew, nil, missing}},
		{name: "maxSkew 2", pod: testPod("p", web, spread("rack", api.DoNotSchedule, 2, "app", "web")),
			want: []*Status{skew, nil, nil, missing}},
		{name: "a pod the selector does not select adds nothing", pod: testPod("p", spread("rack", api.DoNotSchedule, 1, "app", "web")),
			want: []*Status{skew, nil, nil, missing}},
		{name: "ScheduleAnyway filters nothing", pod: testPod("p", web, spread("rack", api.ScheduleAnyway, 1, "app", "web")),
			want: []*Status{nil, nil, nil, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pi := NewPodInfo(tt.pod)
			naiveSpread(pi, nodes)
			for i, n := range nodes {
				if got := (PodTopologySpread{}).Filter(pi, n); !reflect.DeepEqual(got, tt.want[i]) {
					t.Errorf("node %s: Filter = %+v, want %+v", n.Name(), got, tt.want[i])
				}
			}
		})
	}
}

func TestPodTopologySpreadScore(t *testing.T) {
	web := labels("app", "web")
	nodes := []*NodeInfo{
		NewNodeInfo(testNode("a", "4", "4Gi", "rack", "r1"), testPod("w0", web), testPod("w1", web)),
		NewNodeInfo(testNode("b", "4", "4Gi", "rack", "r2"), testPod("w2", web)),
		NewNodeInfo(testNode("c", "4", "4Gi", "rack", "r3")),
		NewNodeInfo(testNode("d", "4", "4Gi")),
	}
	pi := NewPodInfo(testPod("p", web, spread("rack", api.ScheduleAnyway, 1, "app", "web")))
	naiveSpread(pi, nodes)
	scores := make([]int64, len(nodes))
	for i, n := range nodes {
		scores[i] = (PodTopologySpread{}).Score(pi, n)
	}
	(PodTopologySpread{}).NormalizeScores(pi, scores)
	if want := []int64{0, 50, 100, 0}; !reflect.DeepEqual(scores, want) {
		t.Errorf("scores %v, want %v", scores, want)
	}
	if got, _ := Schedule(pi.Pod, nodes, DefaultProfile()); got != "c" {
		t.Errorf("Schedule = %s, want c, the rack without web Pods", got)
	}
}

// TestClusterSpreadCountsAgreeWithRecount adds, binds and deletes Pods at random on a Cluster
// whose counts are kept incrementally, and checks them against a count from scratch.
func TestClusterSpreadCountsAgreeWithRecount(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	c := NewCluster()
	var nodes []store.Item[api.Node]
	for i := range 6 {
		n := testNode(fmt.Sprintf("n%d", i), "64", "64Gi", "rack", fmt.Sprintf("r%d", i%3))
		nodes = append(nodes, store.Item[api.Node]{Name: n.Metadata.Name, Value: *n})
	}
	c.SetNodes(nodes)
	probe := testPod("probe", labels("app", "web"), spread("rack", api.DoNotSchedule, 1, "app", "web"))
	for step := range 300 {
		name := fmt.Sprintf("p%d", r.IntN(20))
		switch r.IntN(3) {
		case 0:
			c.DeletePod("default/" + name)
		default:
			p := testPod(name, labels("app", []string{"web", "db"}[r.IntN(2)]), boundTo(fmt.Sprintf("n%d", r.IntN(6))))
			c.Assume(store.Item[api.Pod]{Name: "default/" + name, Value: *p, ModRevision: int64(step + 1)})
		}
		kept := NewPodInfo(probe)
		c.prepareSpread(kept)
		fresh := NewPodInfo(probe)
		naiveSpread(fresh, c.ordered)
		if !reflect.DeepEqual(nonZero(kept.Spread[0].Counts), nonZero(fresh.Spread[0].Counts)) || kept.Spread[0].Min != fresh.Spread[0].Min {
			t.Fatalf("step %d: kept %v min %d, recount %v min %d", step, kept.Spread[0].Counts, kept.Spread[0].Min,
				fresh.Spread[0].Counts, fresh.Spread[0].Min)
		}
	}
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
