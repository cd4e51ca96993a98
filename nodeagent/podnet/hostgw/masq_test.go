package hostgw

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

func TestMasqExprs(t *testing.T) {
	m := masq{pods: netip.MustParsePrefix("10.244.17.9/20"), bridge: "gitfleet0"}
	want := []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}, // ip saddr
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 255, 240, 0}, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10, 244, 16, 0}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}, // ip daddr
		&expr.Lookup{SourceRegister: 1, SetName: "podcidrs", SetID: setID, Invert: true},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte("gitfleet0\x00\x00\x00\x00\x00\x00\x00")},
		&expr.Masq{},
	}
	if got := m.exprs(); !reflect.DeepEqual(got, want) {
		t.Errorf("exprs:\n%s\nwant:\n%s", dump(got), dump(want))
	}
	// As the kernel lists it, the lookup names its set but has no batch ID.
	listed := m.exprs()
	listed[4] = &expr.Lookup{SourceRegister: 1, SetName: "podcidrs", Invert: true}
	if !sameExprs(listed, want) {
		t.Error("the listed rule differs from the built one")
	}
	listed[6] = &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname("cni0")}
	if sameExprs(listed, want) || sameExprs(listed[:7], want) {
		t.Error("another bridge or a shorter rule counts as the same rule")
	}
}

func TestMasqElements(t *testing.T) {
	el := func(a string, end bool) nftables.SetElement {
		b := netip.MustParseAddr(a).As4()
		return nftables.SetElement{Key: b[:], IntervalEnd: end}
	}
	for _, tc := range []struct {
		name   string
		ranges []string
		want   []nftables.SetElement
	}{
		{name: "none"},
		{name: "adjacent ranges share an address", ranges: []string{"10.244.0.0/24", "10.244.1.0/24"},
			want: []nftables.SetElement{el("10.244.0.0", false), el("10.244.1.0", true), el("10.244.1.0", false), el("10.244.2.0", true)}},
		{name: "a /32 and a /20", ranges: []string{"10.0.0.7/32", "10.244.16.0/20"},
			want: []nftables.SetElement{el("10.0.0.7", false), el("10.0.0.8", true), el("10.244.16.0", false), el("10.244.32.0", true)}},
		{name: "a range to the last address has no end", ranges: []string{"255.255.255.0/24"},
			want: []nftables.SetElement{el("255.255.255.0", false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := masq{}
			for _, r := range tc.ranges {
				m.ranges = append(m.ranges, netip.MustParsePrefix(r))
			}
			got := m.elements()
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("elements %v, want %v", got, tc.want)
			}
			// Listed in any order, the same elements compare equal once sorted.
			rev := make([]nftables.SetElement, len(got))
			for i := range got {
				rev[len(got)-1-i] = got[i]
			}
			if !slices.EqualFunc(sortedElements(rev), tc.want, sameElement) {
				t.Errorf("sorted reversed elements %v", sortedElements(rev))
			}
		})
	}
}
