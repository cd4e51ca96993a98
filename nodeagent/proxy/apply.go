package proxy

import (
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// maxBatch is how many netlink messages one batch carries at most. The kernel answers each
// with an ack it queues at once, and a batch whose acks overflow the socket's receive buffer
// fails with ENOBUFS although it was applied; so batches stay small enough for socketBuffer.
// A Sync after a usual change is one batch; only programming thousands of Services from
// scratch takes several, each of which leaves a table that works (diff's order).
const (
	maxBatch     = 4000
	socketBuffer = 16 << 20
)

// firstAnonID numbers the anonymous maps of a batch, above the named maps' IDs.
const firstAnonID = 100

// unit is what one change adds to a batch: messages that must reach the kernel together (a
// chain's flush with its new rules), and how many they are.
type unit struct {
	msgs int
	add  func(c *nftables.Conn) error
}

// applier turns changes into batches and sends them.
type applier struct {
	table  *nftables.Table
	want   *model
	nextID uint32
}

// apply sends changes: the table and its maps (harmless when they exist), then the changes in
// batches of at most maxBatch messages.
func (a *applier) apply(changes []change) error {
	units := []unit{{msgs: 1 + len(mapNames()), add: a.addSkeleton}}
	for _, ch := range changes {
		units = append(units, a.unit(ch))
	}
	for len(units) > 0 {
		n, msgs := 0, 0
		for n < len(units) && (n == 0 || msgs+units[n].msgs <= maxBatch) {
			msgs += units[n].msgs
			n++
		}
		if err := a.send(units[:n]); err != nil {
			return err
		}
		units = units[n:]
	}
	return nil
}

// send makes one batch of units on a connection of its own, so that a batch given up on is
// never sent by the next.
func (a *applier) send(units []unit) error {
	c, err := nftables.New(nftables.WithSockOptions(bigBuffers))
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	a.nextID = firstAnonID
	for _, u := range units {
		if err := u.add(c); err != nil {
			return err
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("program table %s: %w", TableName, err)
	}
	return nil
}

// bigBuffers lets a batch and its acks fit the socket (root may exceed the sysctl limits).
func bigBuffers(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, socketBuffer); e != nil && serr == nil {
				serr = fmt.Errorf("set netlink socket buffer: %w", e)
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

func (a *applier) addSkeleton(c *nftables.Conn) error {
	c.AddTable(a.table)
	for _, name := range mapNames() {
		if err := c.AddSet(a.set(name), nil); err != nil {
			return fmt.Errorf("add map %s: %w", name, err)
		}
	}
	return nil
}

// set is one of the proxy's named verdict maps.
func (a *applier) set(name string) *nftables.Set {
	key := nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	if nodePortMap(name) {
		key = nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService)
	}
	return &nftables.Set{Table: a.table, Name: name, ID: mapID(name), KeyType: key, Concatenation: true,
		IsMap: true, DataType: nftables.TypeVerdict}
}

func (a *applier) chain(name string) *nftables.Chain {
	ch := &nftables.Chain{Name: name, Table: a.table}
	if c := a.want.chains[name]; c != nil && c.hook != nil {
		ch.Type, ch.Hooknum, ch.Priority = c.hook.typ, c.hook.num, c.hook.prio
	}
	return ch
}

func (a *applier) unit(ch change) unit {
	switch ch.action {
	case actionAddChain:
		return unit{1, func(c *nftables.Conn) error { c.AddChain(a.chain(ch.chain)); return nil }}
	case actionWriteChain:
		return a.writeChain(ch)
	case actionAddElement, actionReplaceElement, actionDeleteElement:
		return a.element(ch)
	case actionFlushChain:
		return unit{1, func(c *nftables.Conn) error { c.FlushChain(a.chain(ch.chain)); return nil }}
	case actionDeleteChain:
		return unit{1, func(c *nftables.Conn) error { c.DelChain(a.chain(ch.chain)); return nil }}
	}
	return unit{0, func(*nftables.Conn) error { return fmt.Errorf("unknown change %s", ch) }}
}

// writeChain replaces a chain's rules in one batch: no packet sees it half written.
func (a *applier) writeChain(ch change) unit {
	want := a.want.chains[ch.chain]
	msgs := len(want.rules) + 1
	for _, r := range want.rules {
		if r.vmap != nil {
			msgs += 2
		}
	}
	return unit{msgs, func(c *nftables.Conn) error {
		t := a.chain(ch.chain)
		if ch.flush {
			c.FlushChain(t)
		}
		for i, r := range want.rules {
			nr := &nftables.Rule{Table: a.table, Chain: t, Exprs: r.exprs}
			if i == 0 {
				nr.UserData = userdata.AppendString(nil, userdata.TypeComment, fingerprintPrefix+want.fingerprint())
			}
			if r.vmap != nil {
				lookup, err := a.addVmap(c, r.vmap)
				if err != nil {
					return fmt.Errorf("write chain %s: %w", ch.chain, err)
				}
				nr.Exprs = append(slices.Clone(r.exprs), lookup)
			}
			c.AddRule(nr)
		}
		return nil
	}}
}

// addVmap adds the anonymous map { 0 : goto targets[0], ... } and returns the lookup of
// register 1 in it. The kernel frees the map with the rule. Keys are host-order integers, as
// numgen writes them; the library marks an anonymous map's keys big-endian whatever it is
// told, so `nft list` shows key 1 as 16777216 on x86 (cosmetic: the kernel compares bytes).
func (a *applier) addVmap(c *nftables.Conn, targets []string) (*expr.Lookup, error) {
	a.nextID++
	s := &nftables.Set{Table: a.table, Name: "__map%d", ID: a.nextID, Anonymous: true, Constant: true,
		IsMap: true, KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict}
	els := make([]nftables.SetElement, len(targets))
	for i, t := range targets {
		els[i] = nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(i)),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: t}}
	}
	if err := c.AddSet(s, els); err != nil {
		return nil, err
	}
	return &expr.Lookup{SourceRegister: reg1, SetName: s.Name, SetID: s.ID, IsDestRegSet: true}, nil
}

func (a *applier) element(ch change) unit {
	msgs := 1
	if ch.action == actionReplaceElement {
		msgs = 2 // delete and add: the kernel refuses to overwrite an element's verdict
	}
	return unit{msgs, func(c *nftables.Conn) error {
		s := a.set(ch.set)
		key := []nftables.SetElement{{Key: keyBytes(ch.set, ch.key)}}
		if ch.action != actionAddElement {
			if err := c.SetDeleteElements(s, key); err != nil {
				return fmt.Errorf("%s: %w", ch, err)
			}
		}
		if ch.action == actionDeleteElement {
			return nil
		}
		key[0].VerdictData = &expr.Verdict{Kind: expr.VerdictGoto, Chain: ch.chain}
		if err := c.SetAddElements(s, key); err != nil {
			return fmt.Errorf("%s: %w", ch, err)
		}
		return nil
	}}
}
