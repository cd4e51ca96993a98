package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
)

func TestNodeDelete(t *testing.T) {
	ctx := context.Background()
	s, eps := etcdtest.StartWithEndpoints(t)
	conn := "--etcd-endpoints=" + strings.Join(eps, ",")
	for _, name := range []string{"live", "gone"} {
		if err := s.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: name}, Status: api.NodeStatus{Ready: true}}); err != nil {
			t.Fatal(err)
		}
	}
	lease, err := s.GrantLease(ctx, time.Minute)
	if err == nil {
		err = s.PutNodeLease(ctx, "live", lease)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI("node", "delete", "live", conn); err == nil || !strings.Contains(err.Error(), "node live is Ready") {
		t.Fatalf("delete a Ready node: %v", err)
	}
	if _, _, err := runCLI("node", "delete", "nobody", conn); err == nil || !strings.Contains(err.Error(), "no such node") {
		t.Fatalf("delete a missing node: %v", err)
	}
	out, _, err := runCLI("node", "delete", "gone", conn)
	if err != nil || !strings.Contains(out, "node gone deleted") {
		t.Fatalf("delete a NotReady node: %v\n%s", err, out)
	}
	if _, _, err := runCLI("node", "delete", "live", "--force", conn); err != nil {
		t.Fatalf("delete a Ready node with --force: %v", err)
	}
	if nodes, _, _ := s.ListNodes(ctx); len(nodes) != 0 {
		t.Fatalf("nodes left: %+v", nodes)
	}
}
