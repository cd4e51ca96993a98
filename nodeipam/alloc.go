package nodeipam

import (
	"fmt"
	"net/netip"
)

// Ranges splits a cluster CIDR into node ranges of prefix length bits.
type Ranges struct {
	cluster netip.Prefix
	bits    int
}

// NewRanges checks that cluster is an IPv4 prefix that holds ranges of length bits.
func NewRanges(cluster string, bits int) (Ranges, error) {
	p, err := netip.ParsePrefix(cluster)
	if err != nil {
		return Ranges{}, fmt.Errorf("parse cluster CIDR %q: %w", cluster, err)
	}
	if !p.Addr().Is4() || bits < p.Bits() || bits > 30 {
		return Ranges{}, fmt.Errorf("cluster CIDR %s cannot hold /%d node ranges (IPv4, /%d to /30)", p, bits, p.Bits())
	}
	return Ranges{cluster: p.Masked(), bits: bits}, nil
}

// Len is how many node ranges the cluster CIDR holds.
func (r Ranges) Len() int { return 1 << (r.bits - r.cluster.Bits()) }

// At returns the i-th node range.
func (r Ranges) At(i int) netip.Prefix {
	base := r.cluster.Addr().As4()
	n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	n += uint32(i) << (32 - r.bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), r.bits)
}

// Contains reports whether cidr is one of the node ranges.
func (r Ranges) Contains(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Bits() == r.bits && r.cluster.Contains(p.Addr()) && p.Masked() == p
}

// FirstFree returns the first node range that taken (range -> holder) does not hold, or an
// error naming the exhausted CIDR.
func (r Ranges) FirstFree(taken map[string]string) (string, error) {
	for i := range r.Len() {
		if p := r.At(i).String(); taken[p] == "" {
			return p, nil
		}
	}
	return "", fmt.Errorf("cluster CIDR %s has no free /%d range left: all %d are assigned (delete a node, or use a larger --cluster-cidr)",
		r.cluster, r.bits, r.Len())
}
