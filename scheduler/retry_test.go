package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// fullNode is a ready node that runs at most maxPods Pods.
func fullNode(name, maxPods string) store.Item[api.Node] {
	n := testNode(name, "4", "8Gi")
	n.Status.Capacity[api.ResourcePods] = maxPods
	return store.Item[api.Node]{Name: name, Value: *n}
}

func pending(name string) store.Item[api.Pod] {
	return store.Item[api.Pod]{Name: "default/" + name, Value: *testPod(name)}
}

// A Pod that fits nowhere is tried again by the next pass, as kube-scheduler moves it back to
// its active queue, exactly when the cluster changed so that room may have appeared: a Pod
// bound to a node went away, or the nodes changed (capacity raised, a node joined). Other
// changes (a Pod created, still unbound) leave it waiting: trying it would fail the same way.
func TestUnschedulablePodRetriedWhenRoomMayAppear(t *testing.T) {
	for _, tt := range []struct {
		name  string
		event func(c *Cluster)
		retry bool // the next pass tries the Pod again
		fits  bool // and then it fits
	}{
		{"a Pod on the full node deleted", func(c *Cluster) { c.DeletePod("default/old") }, true, true},
		{"the node's pods capacity raised", func(c *Cluster) { c.SetNodes([]store.Item[api.Node]{fullNode("n1", "2")}) }, true, true},
		{"a node joined", func(c *Cluster) {
			c.SetNodes([]store.Item[api.Node]{fullNode("n1", "1"), fullNode("n2", "1")})
		}, true, true},
		{"a Pod bound elsewhere", func(c *Cluster) { c.SetPod(bound("far", "n9")) }, false, false},
		{"another Pod created, unbound", func(c *Cluster) { c.SetPod(pending("other")) }, false, false},
		{"the nodes listed again, unchanged", func(c *Cluster) { c.SetNodes([]store.Item[api.Node]{fullNode("n1", "1")}) }, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCluster()
			c.SetNodes([]store.Item[api.Node]{fullNode("n1", "1")})
			c.SetPod(bound("old", "n1"))
			c.SetPod(pending("new"))
			pod := NewPodInfo(testPod("new"))
			if _, err := c.Place(pod, DefaultProfile(), 10); err == nil {
				t.Fatal("new fits on a node that runs its capacity of Pods")
			}
			failedAt := c.gen // what Scheduler.fit records in failed
			tt.event(c)
			if retry := c.gen != failedAt; retry != tt.retry {
				t.Fatalf("retried %v, want %v", retry, tt.retry)
			}
			if !tt.retry {
				return
			}
			if _, err := c.Place(pod, DefaultProfile(), 10); (err == nil) != tt.fits {
				t.Errorf("fits %v (%v), want %v", err == nil, err, tt.fits)
			}
		})
	}
}

// With a real etcd and no periodic pass (Resync an hour), a Pod left Unschedulable by a full
// node is bound as soon as a Pod on that node is deleted, as in a rollout whose surge Pods wait
// for the old ones to go; and again once the node's capacity is raised.
func TestSchedulerRetriesUnschedulableOnClusterEvents(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	node := fullNode("n1", "1").Value
	registerNode(t, st, &node)
	startScheduler(t, st, "s1", Options{Resync: time.Hour})
	createPods(t, st, testPod("old"))
	waitFor(t, "old bound", func() (bool, string) {
		_, ok, why := podsBound(t, st, "old")
		return ok, why
	})
	unschedulable := func(name string) func() (bool, string) {
		return func() (bool, string) {
			p, _, err := st.GetPod(ctx, "default", name)
			return err == nil && p.Spec.NodeName == "" && p.Status.Reason == api.ReasonUnschedulable,
				fmt.Sprintf("node %q, status %+v, err %v", p.Spec.NodeName, p.Status, err)
		}
	}
	createPods(t, st, testPod("new"))
	waitFor(t, "new unschedulable on the full node", unschedulable("new"))

	if err := st.DeletePod(ctx, "default", "old", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "new bound once old is deleted", func() (bool, string) {
		_, ok, why := podsBound(t, st, "new")
		return ok, why
	})

	createPods(t, st, testPod("more"))
	waitFor(t, "more unschedulable on the full node", unschedulable("more"))
	node.Status.Capacity[api.ResourcePods] = "2"
	if err := st.PutNode(ctx, &node); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "more bound once the node's capacity is raised", func() (bool, string) {
		_, ok, why := podsBound(t, st, "more")
		return ok, why
	})
}
