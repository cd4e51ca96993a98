package scheduler

import (
	"reflect"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func labels(kv ...string) podOption {
	return func(p *api.Pod) {
		p.Metadata.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Metadata.Labels[kv[i]] = kv[i+1]
		}
	}
}

func inNamespace(ns string) podOption { return func(p *api.Pod) { p.Metadata.Namespace = ns } }

// antiAffinity keeps a Pod off the nodes of the Pods sel selects.
func antiAffinity(sel *api.PodSelector) podOption {
	return func(p *api.Pod) {
		if p.Spec.Affinity == nil {
			p.Spec.Affinity = &api.Affinity{}
		}
		p.Spec.Affinity.PodAntiAffinity = &api.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []api.PodAffinityTerm{{LabelSelector: sel, TopologyKey: api.LabelHostname}}}
	}
}

func TestPodAntiAffinity(t *testing.T) {
	web := &api.PodSelector{MatchLabels: map[string]string{"app": "web"}}
	webFront := &api.PodSelector{MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []api.SelectorRequirement{{Key: "tier", Operator: api.OpIn, Values: []string{"front"}}}}
	own := NewStatus(Unschedulable, ReasonAntiAffinityRulesNotMatch)
	existing := NewStatus(Unschedulable, ReasonExistingAntiAffinityRulesNotMatch)
	tests := []struct {
		name    string
		running []*api.Pod
		pod     *api.Pod
		want    *Status
	}{
		{name: "no terms", running: []*api.Pod{testPod("a", labels("app", "web"))}, pod: testPod("p")},
		{name: "selected pod on the node", running: []*api.Pod{testPod("a", labels("app", "web"))},
			pod: testPod("p", antiAffinity(web)), want: own},
		{name: "no selected pod", running: []*api.Pod{testPod("a", labels("app", "db"))}, pod: testPod("p", antiAffinity(web))},
		{name: "selected pod in another namespace", running: []*api.Pod{testPod("a", labels("app", "web"), inNamespace("other"))},
			pod: testPod("p", antiAffinity(web))},
		{name: "expressions too", running: []*api.Pod{testPod("a", labels("app", "web", "tier", "back"))},
			pod: testPod("p", antiAffinity(webFront))},
		{name: "labels and expressions match", running: []*api.Pod{testPod("a", labels("app", "web", "tier", "front"))},
			pod: testPod("p", antiAffinity(webFront)), want: own},
		{name: "pairs on different pods match none", running: []*api.Pod{testPod("a", labels("app", "web")), testPod("b", labels("tier", "front"))},
			pod: testPod("p", antiAffinity(&api.PodSelector{MatchLabels: map[string]string{"app": "web", "tier": "front"}}))},
		{name: "an existing pod's term selects the pod", running: []*api.Pod{testPod("a", antiAffinity(web))},
			pod: testPod("p", labels("app", "web")), want: existing},
		{name: "an existing pod's term selects others", running: []*api.Pod{testPod("a", antiAffinity(web))},
			pod: testPod("p", labels("app", "db"))},
		{name: "empty selector selects every pod", running: []*api.Pod{testPod("a")},
			pod: testPod("p", antiAffinity(&api.PodSelector{})), want: own},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := NewNodeInfo(testNode("n", "1", "1Gi"), tt.running...)
			if got := (PodAntiAffinity{}).Filter(NewPodInfo(tt.pod), node); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Filter = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestNodeInfoForgetsRemovedPodsLabels: a Pod's labels and anti-affinity leave with it.
func TestNodeInfoForgetsRemovedPodsLabels(t *testing.T) {
	sel := &api.PodSelector{MatchLabels: map[string]string{"app": "web"}}
	n := NewNodeInfo(testNode("n", "1", "1Gi"), testPod("a", labels("app", "web"), antiAffinity(sel)))
	if n.LabelCount("app", "web") != 1 {
		t.Fatalf("LabelCount = %d, want 1", n.LabelCount("app", "web"))
	}
	n.RemovePod("default/a")
	if n.LabelCount("app", "web") != 0 || len(n.antiAffinity) != 0 {
		t.Errorf("after removal: LabelCount %d, %d anti-affinity pods; want 0, 0", n.LabelCount("app", "web"), len(n.antiAffinity))
	}
	if st := (PodAntiAffinity{}).Filter(NewPodInfo(testPod("p", labels("app", "web"), antiAffinity(sel))), n); st != nil {
		t.Errorf("Filter after removal = %+v, want nil", st)
	}
}
