package hostgw

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/nodeagent"
)

var _ nodeagent.Routes = (*Router)(nil)

// TestSync programs routes and the masquerade table in a network namespace of the test's own,
// where the node's address sits on a veth link: routes follow the node list, routes of
// another protocol and another table are never touched, and a second Sync (also by a restarted
// agent's new Router) changes nothing.
func TestSync(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	// A veth pair stands for the node's network (this kernel may lack the dummy link type).
	netnstest.Exec(t, "ip", "link", "add", "nodes0", "type", "veth", "peer", "name", "nodes1")
	netnstest.Exec(t, "ip", "addr", "add", "192.168.77.1/24", "dev", "nodes0")
	netnstest.Exec(t, "ip", "link", "set", "nodes1", "up")
	netnstest.Exec(t, "ip", "link", "set", "nodes0", "up")
	// Routes gitfleet did not make: one elsewhere, one to a range a node claims.
	netnstest.Exec(t, "ip", "route", "add", "10.99.0.0/24", "via", "192.168.77.9", "proto", "static")
	netnstest.Exec(t, "ip", "route", "add", "10.244.9.0/24", "via", "192.168.77.9", "proto", "static")
	foreignTable(t)

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	r := newRouter(t, log)
	nodes := []api.Node{
		node("a", "10.244.1.0/24", "192.168.77.1"), node("b", "10.244.2.0/24", "192.168.77.2"),
		node("c", "10.244.3.0/24", "192.168.77.3"), node("d", "10.244.9.0/24", "192.168.77.4"),
		node("e", "", "192.168.77.5"), node("f", "10.244.6.0/24", ""),
	}
	syncNodes(t, r, nodes)
	wantRoutes(t, "10.244.2.0/24 via 192.168.77.2 proto 71", "10.244.3.0/24 via 192.168.77.3 proto 71",
		"10.244.9.0/24 via 192.168.77.9 proto static", "10.99.0.0/24 via 192.168.77.9 proto static")
	if !strings.Contains(logs.String(), "another route holds its destination") {
		t.Errorf("the conflict with the static route was not logged:\n%s", logs.String())
	}
	handle := wantMasq(t, "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24", "10.244.6.0/24", "10.244.9.0/24")

	t.Run("again", func(t *testing.T) {
		logs.Reset()
		syncNodes(t, r, nodes)
		if logs.Len() != 0 {
			t.Errorf("a sync of the same nodes logged:\n%s", logs.String())
		}
		var restartLogs bytes.Buffer
		syncNodes(t, newRouter(t, slog.New(slog.NewTextHandler(&restartLogs, nil))), nodes)
		if lines := strings.Split(strings.TrimSpace(restartLogs.String()), "\n"); len(lines) != 1 ||
			!strings.Contains(lines[0], "another route holds its destination") {
			t.Errorf("a restarted router logged more than the conflict:\n%s", restartLogs.String())
		}
		if h := wantMasq(t, "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24", "10.244.6.0/24", "10.244.9.0/24"); h != handle {
			t.Errorf("the rule was made again (handle %d, was %d)", h, handle)
		}
	})

	t.Run("follow", func(t *testing.T) {
		nodes[1] = node("b", "10.244.2.0/24", "192.168.77.6") // b moved
		nodes = slices.Delete(nodes, 2, 3)                    // c is gone
		syncNodes(t, r, nodes)
		wantRoutes(t, "10.244.2.0/24 via 192.168.77.6 proto 71",
			"10.244.9.0/24 via 192.168.77.9 proto static", "10.99.0.0/24 via 192.168.77.9 proto static")
		wantMasq(t, "10.244.1.0/24", "10.244.2.0/24", "10.244.6.0/24", "10.244.9.0/24")
		syncNodes(t, r, nil)
		wantRoutes(t, "10.244.9.0/24 via 192.168.77.9 proto static", "10.99.0.0/24 via 192.168.77.9 proto static")
		wantMasq(t)
	})
	wantForeignTable(t)
}

func node(name, podCIDR, ip string) api.Node {
	n := api.Node{Metadata: api.ObjectMeta{Name: name}, Spec: api.NodeSpec{PodCIDR: podCIDR}}
	if ip != "" {
		n.Status.Addresses = []api.NodeAddress{{Type: api.NodeHostName, Address: name}, {Type: api.NodeInternalIP, Address: ip}}
	}
	return n
}

func newRouter(t *testing.T, log *slog.Logger) *Router {
	t.Helper()
	r, err := New(Config{PodCIDR: "10.244.1.0/24", Bridge: "gitfleet0"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func syncNodes(t *testing.T, r *Router, nodes []api.Node) {
	t.Helper()
	if err := r.Sync(t.Context(), "a", nodes); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// wantRoutes checks the main table's routes that have a gateway, as "dst via gw proto N".
func wantRoutes(t *testing.T, want ...string) {
	t.Helper()
	list, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range list {
		if r.Gw != nil {
			got = append(got, r.Dst.String()+" via "+r.Gw.String()+" proto "+r.Protocol.String())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// wantMasq checks gitfleet's table through the library: the set holds ranges, the chain is a
// postrouting nat chain with the one masquerade rule, whose handle it returns.
func wantMasq(t *testing.T, ranges ...string) uint64 {
	t.Helper()
	c := &nftables.Conn{}
	tbl, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatalf("list table: %v", err)
	}
	set, err := c.GetSetByName(tbl, SetName)
	if err != nil {
		t.Fatalf("get set: %v", err)
	}
	els, err := c.GetSetElements(set)
	if err != nil {
		t.Fatalf("get set elements: %v", err)
	}
	if got := intervals(els); !slices.Equal(got, ranges) {
		t.Errorf("set %s holds %q, want %q", SetName, got, ranges)
	}
	ch, err := c.ListChain(tbl, ChainName)
	if err != nil {
		t.Fatalf("list chain: %v", err)
	}
	if ch.Type != nftables.ChainTypeNAT || *ch.Hooknum != *nftables.ChainHookPostrouting || *ch.Priority != *nftables.ChainPriorityNATSource {
		t.Errorf("chain %+v", ch)
	}
	rules, err := c.GetRules(tbl, ch)
	if err != nil {
		t.Fatalf("get rules: %v", err)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules, want 1", len(rules))
	}
	want := masq{pods: mustPrefix("10.244.1.0/24"), bridge: "gitfleet0"}.exprs()
	if !sameExprs(rules[0].Exprs, want) {
		t.Errorf("rule exprs:\n%s\nwant:\n%s", dump(rules[0].Exprs), dump(want))
	}
	return rules[0].Handle
}

// intervals reads interval set elements back as CIDRs (each range here is a /24).
func intervals(els []nftables.SetElement) []string {
	var out []string
	for _, e := range sortedElements(els) {
		if !e.IntervalEnd {
			out = append(out, net.IP(e.Key).String()+"/24")
		}
	}
	return out
}

func dump(es []expr.Any) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%T %+v\n", e, e)
	}
	return b.String()
}

// foreignTable makes a nat table as another program would: Sync must leave it alone.
func foreignTable(t *testing.T) {
	t.Helper()
	c := &nftables.Conn{}
	tbl := c.AddTable(&nftables.Table{Name: "other", Family: nftables.TableFamilyIPv4})
	ch := c.AddChain(&nftables.Chain{Name: "post", Table: tbl, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	c.AddRule(&nftables.Rule{Table: tbl, Chain: ch, Exprs: []expr.Any{&expr.Masq{}}})
	if err := c.Flush(); err != nil {
		t.Fatalf("make foreign table: %v", err)
	}
}

func wantForeignTable(t *testing.T) {
	t.Helper()
	c := &nftables.Conn{}
	tbl, err := c.ListTableOfFamily("other", nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatalf("foreign table: %v", err)
	}
	ch, err := c.ListChain(tbl, "post")
	if err != nil {
		t.Fatalf("foreign chain: %v", err)
	}
	if rules, err := c.GetRules(tbl, ch); err != nil || len(rules) != 1 {
		t.Errorf("foreign rules: %d, %v", len(rules), err)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
