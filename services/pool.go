package services

import (
	"fmt"
	"net/netip"

	"github.com/gitfleet/gitfleet/api"
)

// Pool is the set of virtual IPs a service CIDR offers: every address but the network's and
// the broadcast address.
type Pool struct {
	cidr netip.Prefix
}

// NewPool checks that cidr is an IPv4 prefix of /8 to /30: large enough for two Services, and
// not so large that a scan for a free address takes long.
func NewPool(cidr string) (Pool, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return Pool{}, fmt.Errorf("parse service CIDR %q: %w", cidr, err)
	}
	if !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 30 {
		return Pool{}, fmt.Errorf("service CIDR %s must be IPv4, /8 to /30", p)
	}
	return Pool{cidr: p.Masked()}, nil
}

// DefaultPool is the pool of api.DefaultServiceCIDR.
func DefaultPool() Pool {
	return Pool{cidr: netip.MustParsePrefix(api.DefaultServiceCIDR)}
}

// CIDR is the pool's service CIDR.
func (p Pool) CIDR() netip.Prefix { return p.cidr }

// Len is how many addresses the pool offers.
func (p Pool) Len() int { return 1<<(32-p.cidr.Bits()) - 2 }

// at returns the i-th address, from 0: the one after the network address.
func (p Pool) at(i int) netip.Addr {
	b := p.cidr.Addr().As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += uint32(i) + 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// Contains reports whether ip is one of the pool's addresses.
func (p Pool) Contains(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.Is4() && p.cidr.Contains(a) && a != p.cidr.Addr() && a != p.at(p.Len())
}

// FirstFree returns the lowest address that taken (ip -> holder) does not hold, or an error
// naming the exhausted CIDR.
func (p Pool) FirstFree(taken map[string]string) (string, error) {
	for i := range p.Len() {
		if ip := p.at(i).String(); taken[ip] == "" {
			return ip, nil
		}
	}
	return "", fmt.Errorf("service CIDR %s has no free address left: all %d are allocated (delete a Service, or use a larger --service-cidr)",
		p.cidr, p.Len())
}

// FirstFreeNodePort returns the lowest node port that taken (port -> holder) does not hold, or
// an error naming the exhausted range.
func FirstFreeNodePort(taken map[int32]string) (int32, error) {
	for port := int32(api.MinNodePort); port <= api.MaxNodePort; port++ {
		if taken[port] == "" {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free node port left: all %d of %d-%d are allocated (delete a NodePort Service)",
		api.MaxNodePort-api.MinNodePort+1, api.MinNodePort, api.MaxNodePort)
}
