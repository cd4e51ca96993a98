package api

import (
	"fmt"
	"net/netip"
	"strconv"
)

// serviceClaim is the first Service to claim an address or a node port in a repository.
type serviceClaim struct {
	d     Decoded
	field string
}

// checkServiceClaims refuses two Services that claim one explicit clusterIP, or one node port:
// only one of them could get it. The error sits on the later claim and names the first. It
// also refuses an explicit clusterIP that cidr cannot give.
func checkServiceClaims(all []Decoded, cidr netip.Prefix) []FieldError {
	ips := map[string]serviceClaim{}
	nodePorts := map[int32]serviceClaim{}
	var errs []FieldError
	claim := func(d Decoded, field, what string, first serviceClaim, taken bool) bool {
		if !taken {
			return false
		}
		k := setKey(first.d)
		errs = append(errs, d.errorAt(field, "%s is already used by Service %s/%s at %s:%d",
			what, k.Namespace, k.Name, first.d.File, first.d.LineOf(first.field)))
		return true
	}
	for _, d := range all {
		s, ok := d.Object.(*Service)
		if !ok {
			continue
		}
		if ip := s.Spec.ClusterIP; ip != "" && ip != ClusterIPNone {
			if msg := outsideCIDR(ip, cidr); msg != "" {
				errs = append(errs, d.errorAt("spec.clusterIP", "%s", msg))
				continue
			}
			first, taken := ips[ip]
			if !claim(d, "spec.clusterIP", "clusterIP "+ip, first, taken) {
				ips[ip] = serviceClaim{d, "spec.clusterIP"}
			}
		}
		// One Service may serve TCP and UDP on one node port; Validate checks within one.
		mine := map[int32]bool{}
		for i, p := range s.Spec.Ports {
			if p.NodePort == 0 || mine[p.NodePort] {
				continue
			}
			mine[p.NodePort] = true
			field := fmt.Sprintf("spec.ports[%d].nodePort", i)
			first, taken := nodePorts[p.NodePort]
			if !claim(d, field, "nodePort "+strconv.Itoa(int(p.NodePort)), first, taken) {
				nodePorts[p.NodePort] = serviceClaim{d, field}
			}
		}
	}
	return errs
}

// outsideCIDR says why ip cannot be a virtual IP of cidr, or "" when it can. An address that
// is not valid IPv4 is Validate's to report.
func outsideCIDR(ip string, cidr netip.Prefix) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return ""
	}
	switch {
	case !cidr.Contains(a):
		return fmt.Sprintf("clusterIP %s is outside the service CIDR %s (up --service-cidr): leave it out to have one allocated", ip, cidr)
	case a == cidr.Addr():
		return fmt.Sprintf("clusterIP %s is the network address of the service CIDR %s: no Service can have it", ip, cidr)
	case a == broadcast(cidr):
		return fmt.Sprintf("clusterIP %s is the broadcast address of the service CIDR %s: no Service can have it", ip, cidr)
	}
	return ""
}

// broadcast is the last address of the IPv4 prefix p.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}
