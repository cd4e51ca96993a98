package hostgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/gitfleet/gitfleet/api"
)

// RouteProtocol marks the routes gitfleet makes (the rtm_protocol of each, "proto 71" in
// `ip route`), as routing daemons mark theirs: gitfleet deletes or replaces only routes that
// carry it. 71 is not in iproute2's list of reserved protocols.
const RouteProtocol netlink.RouteProtocol = 0x47

// Config configures a Router.
type Config struct {
	// PodCIDR is this node's Pod range (required): its Pods' traffic to outside every node's Pod
	// range is masqueraded.
	PodCIDR string
	// Bridge is the Pods' bridge (required): traffic out of it stays on the node.
	Bridge string
	// NetNS is the path of the network namespace to program; the current one when empty.
	NetNS string
}

// Router programs the routes to other nodes' Pods and the masquerade of this node's Pods.
// Sync is not safe for concurrent use.
type Router struct {
	pods   netip.Prefix
	bridge string
	ns     netns.NsHandle
	nl     *netlink.Handle
	// nftOpts open nftables connections in the router's namespace.
	nftOpts []nftables.ConnOption
	log     *slog.Logger
	// conflicts are the destinations last found held by another's route, logged once each.
	conflicts map[netip.Prefix]bool
}

// New opens the network namespace of cfg; Close releases it.
func New(cfg Config, log *slog.Logger) (*Router, error) {
	pods, err := netip.ParsePrefix(cfg.PodCIDR)
	if err != nil || !pods.Addr().Is4() {
		return nil, fmt.Errorf("new pod router: pod range %q is not an IPv4 CIDR", cfg.PodCIDR)
	}
	if cfg.Bridge == "" {
		return nil, errors.New("new pod router: no bridge")
	}
	r := &Router{pods: pods.Masked(), bridge: cfg.Bridge, ns: netns.None(), log: log, conflicts: map[netip.Prefix]bool{}}
	if cfg.NetNS != "" {
		if r.ns, err = netns.GetFromPath(cfg.NetNS); err != nil {
			return nil, fmt.Errorf("new pod router: open network namespace: %w", err)
		}
	}
	if r.nl, err = netlink.NewHandleAt(r.ns, unix.NETLINK_ROUTE); err != nil {
		r.Close()
		return nil, fmt.Errorf("new pod router: open netlink: %w", err)
	}
	if r.ns.IsOpen() {
		r.nftOpts = append(r.nftOpts, nftables.WithNetNSFd(int(r.ns)))
	}
	return r, nil
}

// Close releases the router's netlink socket and namespace; what it programmed stays.
func (r *Router) Close() error {
	if r.nl != nil {
		r.nl.Close()
	}
	if r.ns.IsOpen() {
		return r.ns.Close()
	}
	return nil
}

// Sync makes the node route to the Pods of every node in nodes but self, and masquerade its own
// Pods' traffic only when it leaves every node's Pod range. It is idempotent and changes only
// routes that carry RouteProtocol and gitfleet's own nftables table. It applies every change it
// can and returns the errors of the others.
func (r *Router) Sync(ctx context.Context, self string, nodes []api.Node) error {
	routes, ranges := Wanted(self, nodes)
	errRoutes := r.syncRoutes(ctx, routes)
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errRoutes, r.syncMasq(masq{pods: r.pods, bridge: r.bridge, ranges: ranges}))
}

// syncRoutes applies the diff of the wanted routes against the main table's.
func (r *Router) syncRoutes(ctx context.Context, wanted []Route) error {
	present, err := r.presentRoutes()
	if err != nil {
		return err
	}
	var errs []error
	conflicts := map[netip.Prefix]bool{}
	for _, c := range Diff(wanted, present) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if c.Action == ActionConflict {
			conflicts[c.Dst] = true
			if !r.conflicts[c.Dst] {
				r.log.Warn("pod route not made: another route holds its destination", "route", c.Route.String())
			}
			continue
		}
		if err := r.applyRoute(c); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, err))
			continue
		}
		r.log.Info("pod route", "change", c.String())
	}
	r.conflicts = conflicts
	if len(errs) > 0 {
		return fmt.Errorf("sync pod routes: %w", errors.Join(errs...))
	}
	return nil
}

// presentRoutes lists the IPv4 routes of the main table that have a destination.
func (r *Router) presentRoutes() ([]PresentRoute, error) {
	list, err := r.nl.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	var out []PresentRoute
	for _, rt := range list {
		if rt.Dst == nil {
			continue
		}
		dst, ok := prefixOf(rt.Dst)
		if !ok {
			continue
		}
		gw, _ := netip.AddrFromSlice(rt.Gw.To4())
		out = append(out, PresentRoute{Route: Route{Dst: dst, Gw: gw}, Owned: rt.Protocol == RouteProtocol})
	}
	return out, nil
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	addr, ok := netip.AddrFromSlice(n.IP.To4())
	ones, bits := n.Mask.Size()
	if !ok || bits != 32 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(addr, ones), true
}

// applyRoute takes one change. An add fails rather than replace a route that appeared since the
// routes were listed, which might not be gitfleet's; a delete names gitfleet's protocol, so
// that the kernel removes no other route to the destination.
func (r *Router) applyRoute(c Change) error {
	rt := &netlink.Route{
		Dst:      &net.IPNet{IP: c.Dst.Addr().AsSlice(), Mask: net.CIDRMask(c.Dst.Bits(), 32)},
		Gw:       c.Gw.AsSlice(),
		Protocol: RouteProtocol,
		Table:    unix.RT_TABLE_MAIN,
	}
	switch c.Action {
	case ActionAdd:
		return r.nl.RouteAdd(rt)
	case ActionReplace:
		return r.nl.RouteReplace(rt)
	case ActionDelete:
		return r.nl.RouteDel(rt)
	}
	return fmt.Errorf("unknown route action %s", c.Action)
}
