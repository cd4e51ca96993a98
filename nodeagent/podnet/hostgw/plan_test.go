package hostgw

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestWanted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		nodes  []api.Node
		routes []string
		ranges []string
	}{
		{name: "none"},
		{name: "self only", nodes: []api.Node{node("a", "10.244.1.0/24", "192.168.1.1")}, ranges: []string{"10.244.1.0/24"}},
		{
			name:   "others via their address, sorted",
			nodes:  []api.Node{node("c", "10.244.3.0/24", "192.168.1.3"), node("a", "10.244.1.0/24", "192.168.1.1"), node("b", "10.244.2.0/24", "192.168.1.2")},
			routes: []string{"10.244.2.0/24 via 192.168.1.2", "10.244.3.0/24 via 192.168.1.3"},
			ranges: []string{"10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"},
		},
		{
			name: "no range, no address or not IPv4: no route; a range still counts",
			nodes: []api.Node{node("a", "10.244.1.0/24", "192.168.1.1"), node("b", "", "192.168.1.2"),
				node("c", "10.244.3.0/24", ""), node("d", "10.244.4.0/24", "fd00::4"), node("e", "fd00:1::/64", "192.168.1.5"),
				node("f", "garbage", "192.168.1.6"), node("g", "10.244.7.0/24", "garbage")},
			ranges: []string{"10.244.1.0/24", "10.244.3.0/24", "10.244.4.0/24", "10.244.7.0/24"},
		},
		{
			name:   "a range not masked is masked",
			nodes:  []api.Node{node("b", "10.244.2.9/24", "192.168.1.2")},
			routes: []string{"10.244.2.0/24 via 192.168.1.2"},
			ranges: []string{"10.244.2.0/24"},
		},
		{
			name: "a range claimed twice: the first by name; never self's",
			nodes: []api.Node{node("c", "10.244.2.0/24", "192.168.1.3"), node("b", "10.244.2.0/24", "192.168.1.2"),
				node("a", "10.244.1.0/24", "192.168.1.1"), node("d", "10.244.1.0/24", "192.168.1.4")},
			routes: []string{"10.244.2.0/24 via 192.168.1.2"},
			ranges: []string{"10.244.1.0/24", "10.244.2.0/24"},
		},
		{
			name:   "ranges inside another collapse",
			nodes:  []api.Node{node("b", "10.244.2.0/24", "192.168.1.2"), node("c", "10.244.0.0/16", "192.168.1.3"), node("d", "10.245.0.0/24", "192.168.1.4")},
			routes: []string{"10.244.0.0/16 via 192.168.1.3", "10.244.2.0/24 via 192.168.1.2", "10.245.0.0/24 via 192.168.1.4"},
			ranges: []string{"10.244.0.0/16", "10.245.0.0/24"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			routes, ranges := Wanted("a", tc.nodes)
			if got := strs(routes); !slices.Equal(got, tc.routes) {
				t.Errorf("routes %q, want %q", got, tc.routes)
			}
			if got := strs(ranges); !slices.Equal(got, tc.ranges) {
				t.Errorf("ranges %q, want %q", got, tc.ranges)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	r := func(dst, gw string) Route { return Route{Dst: netip.MustParsePrefix(dst), Gw: netip.MustParseAddr(gw)} }
	owned := func(dst, gw string) PresentRoute { return PresentRoute{Route: r(dst, gw), Owned: true} }
	other := func(dst, gw string) PresentRoute { return PresentRoute{Route: r(dst, gw)} }
	for _, tc := range []struct {
		name    string
		wanted  []Route
		present []PresentRoute
		want    []string
	}{
		{name: "nothing"},
		{name: "in step", wanted: []Route{r("10.244.2.0/24", "10.0.0.2")}, present: []PresentRoute{owned("10.244.2.0/24", "10.0.0.2")}},
		{
			name:    "missing, moved and gone",
			wanted:  []Route{r("10.244.2.0/24", "10.0.0.2"), r("10.244.3.0/24", "10.0.0.33")},
			present: []PresentRoute{owned("10.244.3.0/24", "10.0.0.3"), owned("10.244.4.0/24", "10.0.0.4")},
			want: []string{"add 10.244.2.0/24 via 10.0.0.2", "replace 10.244.3.0/24 via 10.0.0.33 (was via 10.0.0.3)",
				"delete 10.244.4.0/24 via 10.0.0.4"},
		},
		{
			name:    "routes of others are never touched",
			wanted:  []Route{r("10.244.2.0/24", "10.0.0.2")},
			present: []PresentRoute{other("10.244.2.0/24", "10.0.0.9"), other("10.99.0.0/24", "10.0.0.9"), other("10.244.5.0/24", "10.0.0.5")},
			want:    []string{"conflict 10.244.2.0/24 via 10.0.0.2: a route gitfleet did not make holds 10.244.2.0/24"},
		},
		{
			name:    "an owned route beside another's to the same range is gitfleet's to keep",
			wanted:  []Route{r("10.244.2.0/24", "10.0.0.2")},
			present: []PresentRoute{other("10.244.2.0/24", "10.0.0.9"), owned("10.244.2.0/24", "10.0.0.2")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strs(Diff(tc.wanted, tc.present)); !slices.Equal(got, tc.want) {
				t.Errorf("Diff =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{ActionAdd: "add", ActionReplace: "replace", ActionDelete: "delete",
		ActionConflict: "conflict", Action(9): "Action(9)"} {
		if a.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(a), a.String(), want)
		}
	}
}

func strs[T fmt.Stringer](xs []T) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.String())
	}
	return out
}
