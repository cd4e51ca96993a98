package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/embedded"
)

// TestBindPodsFailsOnlyTheConflictingPod binds a batch in which one Pod changed since it was
// read, one is already bound and one appears twice: those fail alone with ErrConflict; the
// others are bound and indexed under their node, and the failures changed nothing.
func TestBindPodsFailsOnlyTheConflictingPod(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	for i := range 4 {
		pod := &api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("p%d", i)}}
		if err := s.CreatePod(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	read := func(name string) store.Binding {
		p, rev, err := s.GetPod(ctx, "default", name)
		if err != nil {
			t.Fatal(err)
		}
		return store.Binding{Pod: p, ModRevision: rev, Node: "n1"}
	}
	stale := read("p1")
	changed := stale.Pod
	changed.Metadata.Labels = map[string]string{"app": "web"}
	if err := s.UpdatePod(ctx, &changed, stale.ModRevision); err != nil {
		t.Fatal(err)
	}
	bound := read("p2")
	bound.Pod.Spec.NodeName = "n0"
	binds := []store.Binding{read("p0"), stale, bound, read("p3"), read("p3")}
	errs, err := s.BindPods(ctx, binds)
	if err != nil {
		t.Fatalf("BindPods: %v", err)
	}
	for i, want := range []bool{true, false, false, true, false} {
		if got := errs[i] == nil; got != want || !want && !errors.Is(errs[i], store.ErrConflict) {
			t.Errorf("binding %d (%s): err %v, want bound %v or else ErrConflict", i, binds[i].Pod.Metadata.Name, errs[i], want)
		}
	}
	indexed, _, err := s.ListNodePods(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range indexed {
		names = append(names, it.Name)
	}
	if fmt.Sprint(names) != "[default/p0 default/p3]" {
		t.Errorf("indexed under n1: %v, want [default/p0 default/p3]", names)
	}
	for name, node := range map[string]string{"p0": "n1", "p1": "", "p2": "", "p3": "n1"} {
		if p, _, _ := s.GetPod(ctx, "default", name); p.Spec.NodeName != node {
			t.Errorf("%s on %q, want %q", name, p.Spec.NodeName, node)
		}
	}
}

// TestBindPodsRefusesTooManyAtOnce: a batch past MaxBindBatch fails whole, binding nothing,
// rather than meeting an external etcd's --max-txn-ops.
func TestBindPodsRefusesTooManyAtOnce(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	pod := &api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: "p"}}
	if err := s.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	_, rev, _ := s.GetPod(ctx, "default", "p")
	binds := make([]store.Binding, store.MaxBindBatch+1)
	for i := range binds {
		binds[i] = store.Binding{Pod: *pod, ModRevision: rev, Node: "n1"}
		binds[i].Pod.Metadata.Name = fmt.Sprintf("p%d", i)
	}
	binds[0].Pod.Metadata.Name = "p"
	if errs, err := s.BindPods(ctx, binds); err == nil {
		t.Fatalf("BindPods of %d = %v, nil; want an error", len(binds), errs)
	}
	if p, _, _ := s.GetPod(ctx, "default", "p"); p.Spec.NodeName != "" {
		t.Errorf("p bound to %s by a refused batch", p.Spec.NodeName)
	}
}

// TestBindPodsFullBatchFitsEtcdDefaults binds MaxBindBatch Pods at once on an etcd with the
// default --max-txn-ops of an external etcd, 128.
func TestBindPodsFullBatchFitsEtcdDefaults(t *testing.T) {
	ctx := context.Background()
	s, _ := etcdtest.StartConfig(t, embedded.Config{MaxTxnOps: 128})
	binds := make([]store.Binding, store.MaxBindBatch)
	for i := range binds {
		pod := &api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("p%03d", i)}}
		if err := s.CreatePod(ctx, pod); err != nil {
			t.Fatal(err)
		}
		p, rev, _ := s.GetPod(ctx, "default", pod.Metadata.Name)
		binds[i] = store.Binding{Pod: p, ModRevision: rev, Node: "n1"}
	}
	errs, err := s.BindPods(ctx, binds)
	if err != nil {
		t.Fatalf("BindPods of %d: %v", len(binds), err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("binding %d: %v", i, err)
		}
	}
	if indexed, _, _ := s.ListNodePods(ctx, "n1"); len(indexed) != len(binds) {
		t.Errorf("%d Pods indexed under n1, want %d", len(indexed), len(binds))
	}
}
