package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The host's own connections to a cluster IP need a route before netfilter sees them: connect
// picks a route and a source address first, and without one (a node with no default route)
// fails with ENETUNREACH before the output hook could DNAT. The proxy routes the service CIDR
// to a link of its own, as kube-proxy's IPVS mode does with its dummy kube-ipvs0: the output
// hook then DNATs the packet and the kernel routes it again to the endpoint, and a packet no
// rule takes dies there instead of leaving by the default route. The link is a bridge without
// ports, not a dummy, because kernels built without the dummy driver (this one) still have
// bridges, which the Pod network needs anyway; a route via a link without carrier is used all
// the same. Routing via the Pods' bridge instead would fail while that bridge does not exist
// (it comes with the first Pod), and cluster IPs as addresses on the link would make them
// local: a host socket on 0.0.0.0 would answer for a Service without endpoints.
const (
	// ServiceLink is the link the service CIDR is routed to: a bridge without ports.
	ServiceLink = "gitfleet-svc"
	// RouteProtocol marks the proxy's route ("proto 72" in `ip route`): not hostgw's 71, whose
	// router deletes the 71 routes it does not want.
	RouteProtocol netlink.RouteProtocol = 0x48
)

// ensureServiceRoute makes the link, up, with the one route to cidr, and removes the
// proxy's routes to other ranges (a service CIDR changed since the last run).
func ensureServiceRoute(nl *netlink.Handle, cidr netip.Prefix) error {
	link, err := nl.LinkByName(ServiceLink)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		err = nl.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: ServiceLink}})
		if err == nil {
			link, err = nl.LinkByName(ServiceLink)
		}
	}
	if err != nil {
		return fmt.Errorf("ensure link %s: %w", ServiceLink, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := nl.LinkSetUp(link); err != nil {
			return fmt.Errorf("set link %s up: %w", ServiceLink, err)
		}
	}
	dst := &net.IPNet{IP: cidr.Addr().AsSlice(), Mask: net.CIDRMask(cidr.Bits(), 32)}
	routes, err := nl.RouteList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list routes of %s: %w", ServiceLink, err)
	}
	have := false
	for _, rt := range routes {
		switch {
		case rt.Protocol != RouteProtocol || rt.Dst == nil:
		case rt.Dst.String() == dst.String():
			have = true
		default:
			if err := nl.RouteDel(&rt); err != nil {
				return fmt.Errorf("delete stale service route %s: %w", rt.Dst, err)
			}
		}
	}
	if have {
		return nil
	}
	rt := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Protocol: RouteProtocol,
		Scope: netlink.SCOPE_LINK, Table: unix.RT_TABLE_MAIN}
	if err := nl.RouteReplace(rt); err != nil {
		return fmt.Errorf("route %s to %s: %w", cidr, ServiceLink, err)
	}
	return nil
}
