package dns

import (
	"github.com/miekg/dns"
)

// result is the zone's answer to one question: the sections of the reply and its code.
type result struct {
	rcode  int
	answer []dns.RR
	ns     []dns.RR
	extra  []dns.RR
}

// lookup answers q, and reports false when its name is not under the zone's origin: the
// upstream resolvers' to answer. Names match whatever their case. A name the zone lacks is
// NXDOMAIN; a type it lacks for an existing name is NODATA (NOERROR, no answer), never
// NXDOMAIN: stub resolvers ask A and AAAA together and give up on the name if either says it
// does not exist. Both negative answers carry the SOA, whose minimum lets them be cached.
// Records of several are rotated by turn, so that clients that take the first spread out.
func (z *zone) lookup(q dns.Question, turn uint32) (result, bool) {
	name := dns.CanonicalName(q.Name)
	if !dns.IsSubDomain(z.origin, name) {
		return result{}, false
	}
	n, ok := z.names[name]
	if !ok {
		return result{rcode: dns.RcodeNameError, ns: []dns.RR{z.soa}}, true
	}
	return n.answer(q.Qtype, name == z.origin, z.soa, turn), true
}

// answer is the answer of a question of type qtype for this name; apex tells the zone's own
// name, which holds the SOA.
func (n *rrset) answer(qtype uint16, apex bool, soa *dns.SOA, turn uint32) result {
	var rrs []dns.RR
	switch {
	case qtype == dns.TypeSOA && apex:
		rrs = []dns.RR{soa}
	case qtype == dns.TypeANY:
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
			rrs = append(rrs, n.records[t]...)
		}
	default:
		rrs = rotate(n.records[qtype], turn)
	}
	if len(rrs) == 0 {
		return result{rcode: dns.RcodeSuccess, ns: []dns.RR{soa}}
	}
	res := result{rcode: dns.RcodeSuccess, answer: rrs}
	if qtype == dns.TypeSRV || qtype == dns.TypeANY {
		res.extra = n.extra
	}
	return res
}

// rotate returns rrs started at turn modulo their number; rrs itself when there is one or none.
func rotate(rrs []dns.RR, turn uint32) []dns.RR {
	if len(rrs) < 2 {
		return rrs
	}
	k := int(turn % uint32(len(rrs)))
	out := make([]dns.RR, 0, len(rrs))
	return append(append(out, rrs[k:]...), rrs[:k]...)
}
