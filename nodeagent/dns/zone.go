package dns

import (
	"net"
	"strings"

	"github.com/miekg/dns"

	"github.com/gitfleet/gitfleet/api"
)

// ttl is the time to live, in seconds, of every record and of negative answers: short, since
// Pods come and go, and the zone changes with them.
const ttl = 5

// zone is the cluster's names at one moment. It is never changed once built: a Sync builds a
// new one and swaps it in, so answering needs no lock.
type zone struct {
	// origin is the cluster domain as a lowercase FQDN, "cluster.local.".
	origin string
	// names are the records by lowercase FQDN. A name present with no records is an empty
	// non-terminal (svc.cluster.local., a namespace): it exists, so its answer is NODATA.
	names map[string]*rrset
	soa   *dns.SOA
}

// rrset is what one name holds. Its records are shared by concurrent answers, read-only.
type rrset struct {
	records map[uint16][]dns.RR
	// extra are the addresses of the SRV records' targets, for the additional section.
	extra []dns.RR
}

// buildZone is the zone of services under origin (a domain such as "cluster.local"). A Service
// with no cluster IP yet, or a name that cannot be one DNS label, is left out.
func buildZone(origin string, services []api.Endpoints) *zone {
	origin = dns.CanonicalName(origin)
	z := &zone{origin: origin, names: map[string]*rrset{}, soa: soaRecord(origin)}
	z.node(origin)
	z.node("svc." + origin)
	for i := range services {
		z.addService(&services[i])
	}
	return z
}

// soaRecord is the zone's SOA, sent in the authority section of negative answers: its minimum
// is how long resolvers may cache them. The zone is never transferred, so its serial is fixed.
func soaRecord(origin string) *dns.SOA {
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:  "ns.dns." + origin, Mbox: "hostmaster." + origin,
		Serial: 1, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: ttl,
	}
}

func (z *zone) addService(s *api.Endpoints) {
	if !isLabel(s.Namespace) || !isLabel(s.Name) {
		return
	}
	name := strings.ToLower(s.Name + "." + s.Namespace + ".svc." + z.origin)
	switch s.ClusterIP {
	case "":
		// not allocated yet: the name does not exist until it has an address
	case api.ClusterIPNone:
		z.addHeadless(name, s)
	default:
		z.addVirtual(name, s)
	}
}

// addVirtual gives name the Service's cluster IP, and each named port an SRV record that points
// at name with the Service's port.
func (z *zone) addVirtual(name string, s *api.Endpoints) {
	addr := addrRecord(name, s.ClusterIP)
	if addr == nil {
		return
	}
	z.add(name, addr)
	for _, p := range s.Ports {
		if !isLabel(p.Name) {
			continue
		}
		srv := z.srvName(name, p)
		z.add(srv, srvRecord(srv, name, p.Port))
		z.names[srv].extra = []dns.RR{addr}
	}
}

// addHeadless gives name an address per ready Pod, each ready Pod a name of its own under name,
// and each named port an SRV record per ready Pod that serves it, pointing at the Pod's name
// with the Pod's port. A headless Service with no ready Pod still exists: its answers are empty.
func (z *zone) addHeadless(name string, s *api.Endpoints) {
	z.node(name)
	pods := map[int]dns.RR{} // index in s.Endpoints → the Pod's own address record
	for i, ep := range s.Endpoints {
		if !ep.Ready {
			continue
		}
		if addr := addrRecord(name, ep.IP); addr != nil {
			z.add(name, addr)
		}
		if !isLabel(ep.Pod) {
			continue
		}
		pod := strings.ToLower(ep.Pod) + "." + name
		if addr := addrRecord(pod, ep.IP); addr != nil {
			z.add(pod, addr)
			pods[i] = addr
		}
	}
	for pi, p := range s.Ports {
		if isLabel(p.Name) {
			z.addHeadlessSRV(z.srvName(name, p), pi, s.Endpoints, pods)
		}
	}
}

// addHeadlessSRV adds srv's records: one per Pod with an address record in pods and a port
// for the Service's port pi, weighted equally.
func (z *zone) addHeadlessSRV(srv string, pi int, eps []api.Endpoint, pods map[int]dns.RR) {
	var records, extra []dns.RR
	for i, ep := range eps {
		addr, ok := pods[i]
		if !ok || pi >= len(ep.Ports) || ep.Ports[pi] == 0 {
			continue
		}
		records = append(records, srvRecord(srv, addr.Header().Name, ep.Ports[pi]))
		extra = append(extra, addr)
	}
	if len(records) == 0 {
		return
	}
	for _, rr := range records {
		rr.(*dns.SRV).Weight = uint16(max(100/len(records), 1))
	}
	z.add(srv, records...)
	z.names[srv].extra = extra
}

// srvName is the name of the SRV records of port p of the Service called name:
// _PORT._PROTO.NAME.NAMESPACE.svc.cluster.local.
func (z *zone) srvName(name string, p api.EndpointsPort) string {
	return strings.ToLower("_" + p.Name + "._" + p.Protocol + "." + name)
}

// add appends records to name, which it makes with its ancestors.
func (z *zone) add(name string, records ...dns.RR) {
	n := z.node(name)
	for _, rr := range records {
		t := rr.Header().Rrtype
		n.records[t] = append(n.records[t], rr)
	}
}

// node returns name's rrset, making it and every ancestor down to the origin, so that each of
// them exists (NODATA rather than NXDOMAIN, RFC 8020).
func (z *zone) node(name string) *rrset {
	if n, ok := z.names[name]; ok {
		return n
	}
	n := &rrset{records: map[uint16][]dns.RR{}}
	z.names[name] = n
	if name != z.origin {
		if _, parent, ok := strings.Cut(name, "."); ok && dns.IsSubDomain(z.origin, parent) {
			z.node(parent)
		}
	}
	return n
}

// addrRecord is name's A record for an IPv4 ip, its AAAA record for an IPv6 one, and nil when
// ip is not an address.
func addrRecord(name, ip string) dns.RR {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil:
		return nil
	case parsed.To4() != nil:
		return &dns.A{Hdr: header(name, dns.TypeA), A: parsed.To4()}
	}
	return &dns.AAAA{Hdr: header(name, dns.TypeAAAA), AAAA: parsed}
}

func srvRecord(name, target string, port int32) *dns.SRV {
	return &dns.SRV{Hdr: header(name, dns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(port), Target: target}
}

func header(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// isLabel reports whether s can be one DNS label of a name the zone serves: 1 to 63 letters,
// digits and hyphens. A Pod name with dots (a valid Kubernetes name) gets no name of its own.
func isLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
