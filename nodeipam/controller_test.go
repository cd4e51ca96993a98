package nodeipam

import (
	"context"
	"fmt"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

func register(t *testing.T, st *store.Store, name string) {
	t.Helper()
	n := &api.Node{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindNode},
		Metadata: api.ObjectMeta{Name: name}, Status: api.NodeStatus{HostID: "host-" + name}}
	if err := st.PutNode(context.Background(), n); err != nil {
		t.Fatal(err)
	}
}

// Two controllers racing over twenty nodes registered at once never give one range twice; a
// deleted node's range is released and the next node gets it.
func TestControllersNeverShareARange(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := etcdtest.Start(t)
	ranges, err := NewRanges("10.244.0.0/16", 24)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		c := New(st, ranges, fixture.Logger(t).With("ipam", i))
		go func() { _ = c.Run(ctx) }()
	}
	done := make(chan struct{})
	for i := range 20 {
		go func() {
			register(t, st, fmt.Sprintf("n%02d", i))
			done <- struct{}{}
		}()
	}
	for range 20 {
		<-done
	}
	assigned := func() map[string]string {
		nodes, _, err := st.ListNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range nodes {
			if n.Value.Spec.PodCIDR != "" {
				out[n.Value.Metadata.Name] = n.Value.Spec.PodCIDR
			}
		}
		return out
	}
	fixture.WaitFor(t, "20 ranges", func() bool { return len(assigned()) == 20 })
	byRange := map[string]string{}
	for node, cidr := range assigned() {
		if other, dup := byRange[cidr]; dup {
			t.Fatalf("%s given to %s and %s", cidr, other, node)
		}
		byRange[cidr] = node
	}
	ledger, _, _ := st.ListPodCIDRs(ctx)
	if len(ledger) != 20 {
		t.Fatalf("ledger has %d ranges, want 20: %v", len(ledger), ledger)
	}

	freed := assigned()["n07"]
	if err := st.DeleteNode(ctx, "n07"); err != nil {
		t.Fatal(err)
	}
	fixture.WaitFor(t, "range of n07 released", func() bool {
		l, _, _ := st.ListPodCIDRs(ctx)
		return l[freed] == "" && len(l) == 19
	})
	register(t, st, "n20")
	fixture.WaitFor(t, "freed range reused", func() bool { return assigned()["n20"] == freed })
}
