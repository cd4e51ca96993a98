package hostgw

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/gitfleet/gitfleet/api"
)

// Route sends the Pods of one node's range (Dst) to that node's address (Gw).
type Route struct {
	Dst netip.Prefix
	Gw  netip.Addr
}

func (r Route) String() string { return r.Dst.String() + " via " + r.Gw.String() }

// PresentRoute is a route of the main table as found on the node; Owned when gitfleet made it
// (it carries gitfleet's route protocol).
type PresentRoute struct {
	Route
	Owned bool
}

// Wanted returns the route to every node's Pod range but self's via the node's InternalIP, and
// the Pod ranges of every node, self's included (what is not masqueraded). Both are sorted. A
// node without a Pod range or an IPv4 InternalIP gets no route; its range, if any, still counts
// as inside the cluster. Of two nodes that claim the same range, the first by name is routed.
func Wanted(self string, nodes []api.Node) (routes []Route, ranges []netip.Prefix) {
	nodes = slices.Clone(nodes)
	slices.SortFunc(nodes, func(a, b api.Node) int { return cmp.Compare(a.Metadata.Name, b.Metadata.Name) })
	taken := map[netip.Prefix]bool{}
	for _, n := range nodes {
		dst, err := netip.ParsePrefix(n.Spec.PodCIDR)
		if err != nil || !dst.Addr().Is4() {
			continue
		}
		dst = dst.Masked()
		ranges = append(ranges, dst)
		if n.Metadata.Name == self {
			taken[dst] = true
		}
	}
	for _, n := range nodes {
		dst, err := netip.ParsePrefix(n.Spec.PodCIDR)
		gw, gwErr := netip.ParseAddr(n.Status.InternalIP())
		if n.Metadata.Name == self || err != nil || gwErr != nil || !dst.Addr().Is4() || !gw.Is4() {
			continue
		}
		if dst = dst.Masked(); taken[dst] {
			continue
		}
		taken[dst] = true
		routes = append(routes, Route{Dst: dst, Gw: gw})
	}
	slices.SortFunc(routes, func(a, b Route) int { return comparePrefix(a.Dst, b.Dst) })
	return routes, collapse(ranges)
}

// collapse sorts prefixes and drops those inside another: an nftables interval set refuses
// overlapping elements.
func collapse(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, comparePrefix)
	var out []netip.Prefix
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Overlaps(p) {
			continue // sorted by address then length: the earlier one holds p
		}
		out = append(out, p)
	}
	return out
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// Action is what a Change does to a route.
type Action int

// Actions of a Change. Conflict changes nothing: a route gitfleet did not make holds the
// destination, and gitfleet leaves it alone.
const (
	ActionAdd Action = iota + 1
	ActionReplace
	ActionDelete
	ActionConflict
)

func (a Action) String() string {
	switch a {
	case ActionAdd:
		return "add"
	case ActionReplace:
		return "replace"
	case ActionDelete:
		return "delete"
	case ActionConflict:
		return "conflict"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Change is one step that makes the routes present the wanted ones. For a Replace, Was is the
// gateway the route had.
type Change struct {
	Action Action
	Route
	Was netip.Addr
}

func (c Change) String() string {
	switch c.Action {
	case ActionReplace:
		return fmt.Sprintf("replace %s (was via %s)", c.Route, c.Was)
	case ActionConflict:
		return fmt.Sprintf("conflict %s: a route gitfleet did not make holds %s", c.Route, c.Dst)
	}
	return c.Action.String() + " " + c.Route.String()
}

// Diff returns the changes that make the present routes the wanted ones, sorted by destination:
// it adds what is missing, replaces owned routes whose gateway changed and deletes owned routes
// no longer wanted. It never touches a route it does not own: a wanted destination that only
// such a route holds is a Conflict.
func Diff(wanted []Route, present []PresentRoute) []Change {
	owned := map[netip.Prefix]netip.Addr{}
	foreign := map[netip.Prefix]bool{}
	for _, p := range present {
		if p.Owned {
			owned[p.Dst] = p.Gw
		} else {
			foreign[p.Dst] = true
		}
	}
	var out []Change
	want := map[netip.Prefix]bool{}
	for _, w := range wanted {
		want[w.Dst] = true
		gw, ok := owned[w.Dst]
		switch {
		case ok && gw != w.Gw:
			out = append(out, Change{Action: ActionReplace, Route: w, Was: gw})
		case ok:
		case foreign[w.Dst]:
			out = append(out, Change{Action: ActionConflict, Route: w})
		default:
			out = append(out, Change{Action: ActionAdd, Route: w})
		}
	}
	for dst, gw := range owned {
		if !want[dst] {
			out = append(out, Change{Action: ActionDelete, Route: Route{Dst: dst, Gw: gw}})
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(comparePrefix(a.Dst, b.Dst), cmp.Compare(a.Action, b.Action))
	})
	return out
}
