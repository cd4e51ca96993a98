package proxy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// rule is one nftables rule twice: as built (exprs) and as nft prints it (text). The text is
// what the golden file shows and what a chain's fingerprint hashes, so a rule whose text is
// unchanged is taken for unchanged.
type rule struct {
	text  string
	exprs []expr.Any
	// vmap, when set, ends the rule with a lookup of register 1 in an anonymous verdict map:
	// key i goes to chain vmap[i]. The batch that adds the rule creates the map with it.
	vmap []string
}

// ruleBuilder accumulates a rule's matches and statements, text and expressions side by side.
type ruleBuilder struct {
	text  []string
	exprs []expr.Any
}

func newRule() *ruleBuilder { return &ruleBuilder{} }

func (b *ruleBuilder) add(text string, e ...expr.Any) *ruleBuilder {
	b.text = append(b.text, text)
	b.exprs = append(b.exprs, e...)
	return b
}

func (b *ruleBuilder) rule() rule {
	return rule{text: strings.Join(b.text, " "), exprs: b.exprs}
}

// Registers as the kernel numbers them: 1 is the first 16-byte register, 8 its first 4 bytes;
// a concatenation takes consecutive 4-byte registers.
const (
	reg1   = 1
	reg2   = 2
	reg32a = 8
	reg32b = 9
	reg32c = 10
)

// Offsets in the IPv4 header and the transport header.
const (
	offSaddr = 12
	offDaddr = 16
	offDport = 2
)

func loadAddr(offset uint32, reg uint32) *expr.Payload {
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4}
}

func loadDport(reg uint32) *expr.Payload {
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: offDport, Len: 2}
}

func (b *ruleBuilder) saddr(ip netip.Addr) *ruleBuilder {
	a := ip.As4()
	return b.add("ip saddr "+ip.String(), loadAddr(offSaddr, reg1), &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: a[:]})
}

func (b *ruleBuilder) daddrIn(p netip.Prefix) *ruleBuilder {
	a, mask := p.Masked().Addr().As4(), prefixMask(p.Bits())
	return b.add("ip daddr "+p.Masked().String(),
		loadAddr(offDaddr, reg1),
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: mask[:], Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: a[:]})
}

func prefixMask(bits int) [4]byte {
	var m [4]byte
	for i := range bits {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

func (b *ruleBuilder) iifnameNot(name string) *ruleBuilder {
	return b.add(fmt.Sprintf("iifname != %q", name),
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: ifname(name)})
}

func (b *ruleBuilder) l4proto(p proto) *ruleBuilder {
	return b.add("meta l4proto "+p.String(),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{byte(p)}})
}

func (b *ruleBuilder) ctStateNew() *ruleBuilder {
	return b.add("ct state new",
		&expr.Ct{Register: reg1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: make([]byte, 4)})
}

// localDaddr matches packets to one of the node's own addresses but the loopback ones: a node
// port on 127.0.0.1 would need route_localnet, which kube-proxy's nftables mode leaves off too.
func (b *ruleBuilder) localDaddr() *ruleBuilder {
	return b.add("fib daddr type local",
		&expr.Fib{Register: reg1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	).add("ip daddr != 127.0.0.0/8",
		loadAddr(offDaddr, reg1),
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4, Mask: []byte{255, 0, 0, 0}, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: reg1, Data: []byte{127, 0, 0, 0}})
}

// serviceLookup is `ip daddr . meta l4proto . th dport vmap @<set>`.
func (b *ruleBuilder) serviceLookup(set string, id uint32) *ruleBuilder {
	return b.add("ip daddr . meta l4proto . th dport vmap @"+set,
		loadAddr(offDaddr, reg32a),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32b},
		loadDport(reg32c),
		&expr.Lookup{SourceRegister: reg32a, SetName: set, SetID: id, IsDestRegSet: true})
}

// nodePortLookup is `meta l4proto . th dport vmap @<set>`.
func (b *ruleBuilder) nodePortLookup(set string, id uint32) *ruleBuilder {
	return b.add("meta l4proto . th dport vmap @"+set,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg32a},
		loadDport(reg32b),
		&expr.Lookup{SourceRegister: reg32a, SetName: set, SetID: id, IsDestRegSet: true})
}

func (b *ruleBuilder) verdict(kind expr.VerdictKind, chain string) *ruleBuilder {
	text := map[expr.VerdictKind]string{expr.VerdictJump: "jump ", expr.VerdictGoto: "goto ", expr.VerdictReturn: "return"}[kind]
	return b.add(text+chain, &expr.Verdict{Kind: kind, Chain: chain})
}

// setMark is `meta mark set meta mark | bit`.
func (b *ruleBuilder) setMark(bit uint32) *ruleBuilder {
	return b.add(fmt.Sprintf("meta mark set meta mark | %#x", bit),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(^bit), Xor: binaryutil.NativeEndian.PutUint32(bit)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1})
}

// clearMark is `meta mark set meta mark ^ bit`, for a packet known to carry bit.
func (b *ruleBuilder) clearMark(bit uint32) *ruleBuilder {
	return b.add(fmt.Sprintf("meta mark set meta mark ^ %#x", bit),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(^uint32(0)), Xor: binaryutil.NativeEndian.PutUint32(bit)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: reg1})
}

// markUnset is `meta mark & bit == 0`.
func (b *ruleBuilder) markUnset(bit uint32) *ruleBuilder {
	return b.add(fmt.Sprintf("meta mark & %#x == 0", bit),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
		&expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(bit), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: make([]byte, 4)})
}

func (b *ruleBuilder) masquerade() *ruleBuilder {
	return b.add("masquerade fully-random", &expr.Masq{FullyRandom: true})
}

func (b *ruleBuilder) dnat(ip netip.Addr, port uint16) *ruleBuilder {
	a := ip.As4()
	return b.add(fmt.Sprintf("dnat to %s:%d", ip, port),
		&expr.Immediate{Register: reg1, Data: a[:]},
		&expr.Immediate{Register: reg2, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegProtoMin: reg2, Specified: true})
}

func (b *ruleBuilder) rejectTCPReset() *ruleBuilder {
	return b.add("reject with tcp reset", &expr.Reject{Type: unix.NFT_REJECT_TCP_RST})
}

func (b *ruleBuilder) rejectPortUnreachable() *ruleBuilder {
	return b.add("reject with icmp port-unreachable",
		&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: icmpPortUnreachable})
}

// numgenVmap is `numgen random mod N vmap { 0 : goto c0, ... }`.
func (b *ruleBuilder) numgenVmap(chains []string) rule {
	els := make([]string, len(chains))
	for i, c := range chains {
		els[i] = fmt.Sprintf("%d : goto %s", i, c)
	}
	b.add(fmt.Sprintf("numgen random mod %d vmap { %s }", len(chains), strings.Join(els, ", ")),
		&expr.Numgen{Register: reg1, Modulus: uint32(len(chains)), Type: unix.NFT_NG_RANDOM})
	r := b.rule()
	r.vmap = chains
	return r
}

// ifname is an interface name as the kernel compares it: NUL-padded to IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// icmpPortUnreachable is the code of ICMP destination unreachable that a closed UDP port gets.
const icmpPortUnreachable = 3
