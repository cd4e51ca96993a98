package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
)

// TestSchedulerHonoursTaintsAffinityAndAntiAffinity runs a Scheduler on a real etcd where one
// node is tainted through its spec: a Pod without a toleration goes elsewhere, one with goes
// where its node affinity says, two replicas with anti-affinity by node land apart, and a third
// that has no node left is reported with the new reasons.
func TestSchedulerHonoursTaintsAffinityAndAntiAffinity(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	registerNode(t, st, testNode("gpu", "4", "8Gi", "rack", "r1"))
	registerNode(t, st, testNode("plain", "4", "8Gi", "rack", "r2"))
	if err := st.UpdateNodeSpec(ctx, "gpu", func(sp *api.NodeSpec) error {
		sp.Taints = []api.Taint{{Key: "gpu", Value: "true", Effect: api.TaintNoSchedule}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	web := &api.PodSelector{MatchLabels: map[string]string{"app": "web"}}
	tolerant := tolerations(api.Toleration{Key: "gpu", Operator: api.TolerationOpExists})
	createPods(t, st,
		testPod("intolerant", nodeAffinity([]api.SelectorRequirement{expr("rack", api.OpIn, "r1", "r2")})),
		testPod("trainer", tolerant, nodeAffinity([]api.SelectorRequirement{expr("rack", api.OpIn, "r1")})),
		testPod("web-0", tolerant, labels("app", "web"), antiAffinity(web)),
		testPod("web-1", tolerant, labels("app", "web"), antiAffinity(web)))
	startScheduler(t, st, "s1", Options{Resync: time.Hour})
	var nodes map[string]string
	waitFor(t, "the schedulable pods bound", func() (ok bool, why string) {
		nodes, ok, why = podsBound(t, st, "intolerant", "trainer", "web-0", "web-1")
		return ok, why
	})
	if nodes["intolerant"] != "plain" || nodes["trainer"] != "gpu" {
		t.Errorf("intolerant on %s, trainer on %s; want plain and gpu", nodes["intolerant"], nodes["trainer"])
	}
	if nodes["web-0"] == nodes["web-1"] {
		t.Errorf("both web replicas on %s despite anti-affinity", nodes["web-0"])
	}
	createPods(t, st, testPod("web-2", labels("app", "web"), antiAffinity(web)))
	want := "0/2 nodes are available: 1 node(s) didn't match pod anti-affinity rules, 1 node(s) had untolerated taint {gpu: true}."
	waitFor(t, "web-2 reported unschedulable", func() (bool, string) {
		p, _, err := st.GetPod(ctx, "default", "web-2")
		if err != nil {
			return false, err.Error()
		}
		return p.Status.Message == want && p.Spec.NodeName == "", "status " + strings.TrimSpace(p.Status.Message) + ", node " + p.Spec.NodeName
	})
}
