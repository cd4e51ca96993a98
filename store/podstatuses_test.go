package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// TestPutPodStatuses writes the statuses of 150 Pods bound to n1 (two transactions), with three
// puts that must fail alone: a Pod that does not exist, one bound to another node and one read
// at an earlier binding; every other status is written.
func TestPutPodStatuses(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	for i := range 151 {
		node := "n1"
		if i == 150 {
			node = "n2"
		}
		p := &api.Pod{Metadata: api.ObjectMeta{Name: fmt.Sprintf("p-%03d", i), Namespace: "default"}, Spec: api.PodSpec{NodeName: node}}
		if err := s.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	mine, _, err := s.ListNodePods(ctx, "n1")
	if err != nil || len(mine) != 150 {
		t.Fatalf("pods of n1: %d, %v", len(mine), err)
	}
	var puts []store.PodStatusPut
	for _, it := range mine {
		puts = append(puts, store.PodStatusPut{Namespace: "default", Name: it.Value.Metadata.Name, CreateRev: it.CreateRevision,
			Status: api.PodStatus{Phase: api.PodRunning, Message: it.Value.Metadata.Name}})
	}
	puts[7].CreateRev--                                                          // an earlier binding
	puts = append(puts, store.PodStatusPut{Namespace: "default", Name: "ghost"}, // no such Pod
		store.PodStatusPut{Namespace: "default", Name: "p-150"}) // bound to n2
	errs := s.PutPodStatuses(ctx, "n1", puts)
	if len(errs) != len(puts) {
		t.Fatalf("%d errors for %d puts", len(errs), len(puts))
	}
	for i, err := range errs {
		fails := i == 7 || i >= 150
		if fails != errors.Is(err, store.ErrNotFound) || (!fails && err != nil) {
			t.Errorf("put %d (%s): %v", i, puts[i].Name, err)
		}
	}
	sts, _, err := s.ListPodStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 149 {
		t.Fatalf("%d statuses written, want 149", len(sts))
	}
	for i, p := range puts[:150] {
		got, ok := sts[api.PodKey{Namespace: "default", Name: p.Name}]
		if ok == (i == 7) || (ok && got.Message != p.Name) {
			t.Errorf("status of %s: %+v, %v", p.Name, got, ok)
		}
	}
}
