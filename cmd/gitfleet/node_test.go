package main

import (
	"context"
	"reflect"
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

func TestNodeCordonAndTaint(t *testing.T) {
	ctx := context.Background()
	s, eps := etcdtest.StartWithEndpoints(t)
	conn := "--etcd-endpoints=" + strings.Join(eps, ",")
	if err := s.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: "n1"}, Status: api.NodeStatus{Ready: true}}); err != nil {
		t.Fatal(err)
	}
	spec := func() api.NodeSpec {
		t.Helper()
		nodes, _, err := s.ListNodes(ctx)
		if err != nil || len(nodes) != 1 {
			t.Fatalf("list nodes: %v, %d nodes", err, len(nodes))
		}
		return nodes[0].Value.Spec
	}
	steps := []struct {
		args []string
		out  string
		want api.NodeSpec
	}{
		{args: []string{"cordon", "n1"}, out: "node n1 cordoned", want: api.NodeSpec{Unschedulable: true}},
		{args: []string{"taint", "n1", "gpu=true:NoSchedule", "maint:NoExecute"}, out: "node n1 tainted",
			want: api.NodeSpec{Unschedulable: true, Taints: []api.Taint{{Key: "gpu", Value: "true", Effect: "NoSchedule"},
				{Key: "maint", Effect: "NoExecute"}}}},
		{args: []string{"uncordon", "n1"}, out: "node n1 uncordoned",
			want: api.NodeSpec{Taints: []api.Taint{{Key: "gpu", Value: "true", Effect: "NoSchedule"}, {Key: "maint", Effect: "NoExecute"}}}},
		{args: []string{"taint", "n1", "gpu=false:NoSchedule"}, out: "node n1 tainted",
			want: api.NodeSpec{Taints: []api.Taint{{Key: "maint", Effect: "NoExecute"}, {Key: "gpu", Value: "false", Effect: "NoSchedule"}}}},
		{args: []string{"taint", "n1", "gpu:NoSchedule-", "maint-"}, out: "node n1 tainted", want: api.NodeSpec{Taints: []api.Taint{}}},
	}
	for _, st := range steps {
		out, _, err := runCLI(append([]string{"node"}, append(st.args, conn)...)...)
		if err != nil || strings.TrimSpace(out) != st.out {
			t.Fatalf("node %v: %v, printed %q; want %q", st.args, err, out, st.out)
		}
		if got := spec(); !reflect.DeepEqual(got, st.want) && !(len(got.Taints) == 0 && len(st.want.Taints) == 0 && got.Unschedulable == st.want.Unschedulable) {
			t.Fatalf("after node %v: spec %+v, want %+v", st.args, got, st.want)
		}
	}
	for _, args := range [][]string{{"cordon", "nobody"}, {"taint", "n1", "gpu=true"}, {"taint", "n1", "gpu=true:Never"}, {"taint", "n1"}} {
		if _, _, err := runCLI(append([]string{"node"}, append(args, conn)...)...); err == nil {
			t.Errorf("node %v succeeded, want an error", args)
		}
	}
}
