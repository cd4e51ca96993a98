package hostgw

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Names of gitfleet's own nftables objects: a table of the ip family that nothing else writes,
// so that gitfleet may replace it whole and never touches another table.
const (
	TableName = "gitfleet-nat"
	ChainName = "postrouting"
	SetName   = "podcidrs"
)

// setID names the Pod range set within one batch (a rule's lookup refers to it before the kernel
// knows it). Only uniqueness within the batch matters; fixing it also keeps the library from
// counting a package-wide ID.
const setID = 1

// masq is the nftables state that masquerades the Pods of this node when, and only when, their
// traffic leaves the cluster.
type masq struct {
	// pods is this node's Pod range: only its sources are masqueraded.
	pods netip.Prefix
	// bridge is the Pods' bridge: what goes out of it stays on the node.
	bridge string
	// ranges are the Pod ranges of every node: destinations inside them are not masqueraded.
	ranges []netip.Prefix
}

func (m masq) table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
}

func (m masq) set(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, ID: setID, Name: SetName, KeyType: nftables.TypeIPAddr, Interval: true}
}

// chain is the nat chain at the srcnat priority of postrouting, where iptables' own
// MASQUERADE rules run too.
func (m masq) chain(t *nftables.Table) *nftables.Chain {
	return &nftables.Chain{Name: ChainName, Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource}
}

// exprs is the one rule of the chain:
//
//	ip saddr <pods> ip daddr != @podcidrs oifname != "<bridge>" masquerade
func (m masq) exprs() []expr.Any {
	net := m.pods.Masked().Addr().As4()
	mask := prefixMask(m.pods)
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask[:], Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net[:]},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: SetName, SetID: setID, Invert: true},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname(m.bridge)},
		&expr.Masq{},
	}
}

// elements are the interval set elements of ranges, which collapse sorted and made disjoint:
// each range is its first address and, flagged as an interval end, the address after its last.
func (m masq) elements() []nftables.SetElement {
	var out []nftables.SetElement
	for _, p := range m.ranges {
		first := p.Masked().Addr().As4()
		out = append(out, nftables.SetElement{Key: first[:]})
		if next := lastAddr(p).Next(); next.IsValid() {
			end := next.As4()
			out = append(out, nftables.SetElement{Key: end[:], IntervalEnd: true})
		}
	}
	return out
}

func prefixMask(p netip.Prefix) [4]byte {
	var m [4]byte
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	m := prefixMask(p)
	for i := range a {
		a[i] |= ^m[i]
	}
	return netip.AddrFrom4(a)
}

// ifname is an interface name as the kernel compares it: NUL-padded to IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}
