package main

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/gitfleet/gitfleet/nodeagent/dns"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
)

// startClusterDNS starts the node's cluster DNS on the gateway of podCIDR, port 53, and returns
// it with the address that the Pods' resolv.conf names. It listens before the bridge exists.
func startClusterDNS(ctx context.Context, podCIDR string, log *slog.Logger) (*dns.Server, netip.Addr, error) {
	gw, err := podnet.Gateway(podCIDR)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	srv, err := dns.Start(ctx, dns.Config{Addr: netip.AddrPortFrom(gw, dns.Port).String()}, log)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	return srv, gw, nil
}
