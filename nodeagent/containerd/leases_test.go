package containerd

import (
	"slices"
	"testing"

	"github.com/containerd/containerd/v2/core/leases"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// TestDropCreateLeases deletes the leases of this node's creates cut short and keeps any other:
// another node's, and one that is not a create's.
func TestDropCreateLeases(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)
	ctx := rt.ns(t.Context())
	svc := rt.client.LeasesService()
	mine, _, err := rt.createLease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id, labels := range map[string]map[string]string{
		"other-node": {labelCreateOf: "node-b"},
		"not-create": {"app": "x"},
	} {
		if _, err := svc.Create(ctx, leases.WithID(id), leases.WithLabels(labels)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Delete(ctx, leases.Lease{ID: id}) })
	}
	id, _ := leases.FromContext(mine)
	n, err := rt.DropCreateLeases(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("dropped %d leases (%v), want 1", n, err)
	}
	ls, err := svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, l := range ls {
		left = append(left, l.ID)
	}
	slices.Sort(left)
	if want := []string{"not-create", "other-node"}; !slices.Equal(left, want) || slices.Contains(left, id) {
		t.Errorf("leases left %v, want %v", left, want)
	}
}
