package podnet

import (
	"fmt"
	"net/netip"
)

// Gateway is the address of the node's bridge in podCIDR, the Pods' gateway: its first
// address, which the bridge plugin with isGateway takes (host-local's default gateway). Node
// services that Pods reach, such as the cluster DNS, listen there.
func Gateway(podCIDR string) (netip.Addr, error) {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("parse pod cidr: %w", err)
	}
	gw := p.Masked().Addr().Next()
	if !p.Contains(gw) {
		return netip.Addr{}, fmt.Errorf("pod cidr %s has no address for a gateway", podCIDR)
	}
	return gw, nil
}
