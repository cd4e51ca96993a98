package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

const drainOwner = "Deployment/default/web"

func drainPod(name, node, owner string) *api.Pod {
	p := &api.Pod{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: api.ObjectMeta{Namespace: "default", Name: name},
		Spec:     api.PodSpec{NodeName: node, Containers: []api.Container{{Name: "main", Image: "busybox"}}}}
	if owner != "" {
		p.Metadata.Annotations = map[string]string{api.AnnotationOwner: owner}
	}
	return p
}

// replacer stands in for the workload controller, the scheduler and the new node's agent: each
// web Pod gone from node old comes back Running on node new. It records, at each replacement,
// how many web Pods old still held, which shows whether drain waited between them.
type replacer struct {
	st *store.Store
	mu sync.Mutex
	// left is the count of web Pods on old at each replacement.
	left     []int
	replaced map[string]bool
}

func (r *replacer) run(ctx context.Context, t *testing.T, originals []string) {
	for ctx.Err() == nil {
		pods, _, err := r.st.ListPods(ctx)
		if err != nil {
			return
		}
		present, onOld := map[string]bool{}, 0
		for _, p := range pods {
			present[p.Value.Metadata.Name] = true
			if p.Value.Spec.NodeName == "old" && p.Value.Metadata.Annotations[api.AnnotationOwner] == drainOwner {
				onOld++
			}
		}
		for _, name := range originals {
			if present[name] || r.replaced[name] {
				continue
			}
			r.mu.Lock()
			r.left, r.replaced[name] = append(r.left, onOld), true
			r.mu.Unlock()
			repl := drainPod(name+"-new", "new", drainOwner)
			if err := r.st.CreatePod(ctx, repl); err != nil {
				t.Errorf("create replacement: %v", err)
				return
			}
			if err := r.st.PutPodStatus(ctx, "new", "default", repl.Metadata.Name, 0, api.PodStatus{Phase: api.PodRunning}); err != nil {
				t.Errorf("report replacement running: %v", err)
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNodeDrain(t *testing.T) {
	ctx := context.Background()
	s, eps := etcdtest.StartWithEndpoints(t)
	conn := "--etcd-endpoints=" + strings.Join(eps, ",")
	lease, err := s.GrantLease(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"old", "new"} {
		if err := s.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: name}, Status: api.NodeStatus{Ready: true}}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutNodeLease(ctx, name, lease); err != nil { // a heartbeat: Pods on a lost node are Unknown
			t.Fatal(err)
		}
	}
	for _, p := range []*api.Pod{drainPod("web-a", "old", drainOwner), drainPod("web-b", "old", drainOwner),
		drainPod("web-c", "new", drainOwner), drainPod("solo", "old", "")} {
		if err := s.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := runCLI("node", "drain", "old", conn); err == nil || !strings.Contains(err.Error(), "default/solo") {
		t.Fatalf("drain with an unowned pod: %v, want a refusal naming default/solo", err)
	}
	if sp, _, _ := s.GetNodeSpec(ctx, "old"); sp.Unschedulable {
		t.Fatal("a refused drain cordoned the node")
	}
	r := &replacer{st: s, replaced: map[string]bool{}}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.run(rctx, t, []string{"web-a", "web-b"}) })
	out, _, err := runCLI("node", "drain", "old", "--force", "--timeout=60s", conn)
	stop()
	wg.Wait()
	if err != nil || strings.TrimSpace(out) != "node old drained: 3 pod(s) deleted" {
		t.Fatalf("drain --force: %v, printed %q", err, out)
	}
	if sp, _, _ := s.GetNodeSpec(ctx, "old"); !sp.Unschedulable {
		t.Error("a drained node is not cordoned")
	}
	if left, _, _ := s.ListNodePods(ctx, "old"); len(left) != 0 {
		t.Errorf("%d pods left on old", len(left))
	}
	if got := fmt.Sprint(r.left); got != "[1 0]" {
		t.Errorf("web pods still on old at each replacement: %s, want [1 0]: one replica at a time", got)
	}
}
