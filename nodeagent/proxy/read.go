package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// fingerprintPrefix starts the comment of a chain's first rule, which holds the chain's
// fingerprint.
const fingerprintPrefix = "fp:"

// readState reads what the proxy's table holds: its chains, the fingerprint and rule count of
// each, and its maps' elements. A missing table is an empty state.
func readState(c *nftables.Conn) (*state, error) {
	s := emptyState()
	_, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4)
	if errors.Is(err, unix.ENOENT) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", TableName, err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("read chains of %s: %w", TableName, err)
	}
	for _, ch := range chains {
		if ch.Table.Name == TableName {
			s.chains[ch.Name] = liveChain{}
		}
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		return nil, fmt.Errorf("read table %s: dial netlink: %w", TableName, err)
	}
	defer conn.Close()
	if err := readRules(conn, s); err != nil {
		return nil, err
	}
	if err := readMaps(conn, s); err != nil {
		return nil, err
	}
	return s, nil
}

// readRules counts the rules of each chain and takes the fingerprint from each chain's first
// rule. It dumps the whole table in one request and decodes only the chain name and comment
// of each rule: the library's GetRules asks chain by chain and decodes every expression,
// thousands of round trips for a large cluster.
func readRules(conn *netlink.Conn, s *state) error {
	msgs, err := dump(conn, unix.NFT_MSG_GETRULE, []netlink.Attribute{{Type: unix.NFTA_RULE_TABLE, Data: cstring(TableName)}})
	if err != nil {
		return fmt.Errorf("read rules of %s: %w", TableName, err)
	}
	for _, m := range msgs {
		chain, comment, err := decodeRule(m.Data)
		if err != nil {
			return fmt.Errorf("read rules of %s: %w", TableName, err)
		}
		lc, ok := s.chains[chain]
		if !ok {
			continue // made after the chains were listed: the next read sees it
		}
		if lc.rules == 0 {
			lc.fingerprint, _ = strings.CutPrefix(comment, fingerprintPrefix)
		}
		lc.rules++
		s.chains[chain] = lc
	}
	return nil
}

// dump sends one nftables dump request of type typ for the ip family and returns the answers.
func dump(conn *netlink.Conn, typ int, attrs []netlink.Attribute) ([]netlink.Message, error) {
	b, err := netlink.MarshalAttributes(attrs)
	if err != nil {
		return nil, err
	}
	return conn.Execute(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | typ),
			Flags: netlink.Request | netlink.Dump,
		},
		// nfgenmsg: family, version, resource ID.
		Data: append([]byte{unix.NFPROTO_IPV4, unix.NFNETLINK_V0, 0, 0}, b...),
	})
}

func cstring(s string) []byte { return []byte(s + "\x00") }

// decodeRule returns the chain and the comment of a rule message.
func decodeRule(b []byte) (chain, comment string, err error) {
	if len(b) < 4 {
		return "", "", errors.New("short rule message")
	}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return "", "", err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_RULE_CHAIN:
			chain = ad.String()
		case unix.NFTA_RULE_USERDATA:
			comment, _ = userdata.GetString(ad.Bytes(), userdata.TypeComment)
		}
	}
	return chain, comment, ad.Err()
}

// readMaps reads the elements of the proxy's maps; a missing map reads as empty. It decodes
// the elements itself: the library's GetSetElements drops a verdict map's verdicts.
func readMaps(conn *netlink.Conn, s *state) error {
	for _, name := range mapNames() {
		msgs, err := dump(conn, unix.NFT_MSG_GETSETELEM, []netlink.Attribute{
			{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: cstring(TableName)},
			{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: cstring(name)},
		})
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read map %s: %w", name, err)
		}
		m := map[elemKey]string{}
		for _, msg := range msgs {
			if err := decodeElements(name, msg.Data, m); err != nil {
				return fmt.Errorf("read map %s: %w", name, err)
			}
		}
		s.maps[name] = m
	}
	return nil
}

// decodeElements adds to m the elements of one message: each a key and a goto verdict.
func decodeElements(set string, b []byte, m map[elemKey]string) error {
	if len(b) < 4 {
		return errors.New("short element message")
	}
	ad, err := netlink.NewAttributeDecoder(b[4:])
	if err != nil {
		return err
	}
	for ad.Next() {
		if ad.Type() != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			continue
		}
		ad.Nested(func(list *netlink.AttributeDecoder) error {
			for list.Next() {
				var key []byte
				var target string
				list.Nested(func(el *netlink.AttributeDecoder) error {
					key, target = decodeElement(el)
					return nil
				})
				if k, ok := decodeKey(set, key); ok && target != "" {
					m[k] = target
				}
			}
			return nil
		})
	}
	return ad.Err()
}

// decodeElement returns an element's key and the chain its verdict goes to.
func decodeElement(el *netlink.AttributeDecoder) (key []byte, target string) {
	for el.Next() {
		switch el.Type() {
		case unix.NFTA_SET_ELEM_KEY:
			el.Nested(func(d *netlink.AttributeDecoder) error {
				for d.Next() {
					if d.Type() == unix.NFTA_DATA_VALUE {
						key = d.Bytes()
					}
				}
				return nil
			})
		case unix.NFTA_SET_ELEM_DATA:
			el.Nested(func(d *netlink.AttributeDecoder) error {
				for d.Next() {
					if d.Type() == unix.NFTA_DATA_VERDICT {
						d.Nested(func(v *netlink.AttributeDecoder) error {
							for v.Next() {
								if v.Type() == unix.NFTA_VERDICT_CHAIN {
									target = v.String()
								}
							}
							return nil
						})
					}
				}
				return nil
			})
		}
	}
	return key, target
}

// keyBytes is k as a map's concatenated key: each field padded to 4 bytes, the port in
// network order.
func keyBytes(set string, k elemKey) []byte {
	var b []byte
	if !nodePortMap(set) {
		a := k.addr.As4()
		b = append(b, a[:]...)
	}
	return append(b, byte(k.proto), 0, 0, 0, byte(k.port>>8), byte(k.port), 0, 0)
}

func decodeKey(set string, b []byte) (elemKey, bool) {
	var k elemKey
	if !nodePortMap(set) {
		if len(b) < 4 {
			return k, false
		}
		k.addr = netip.AddrFrom4([4]byte(b[:4]))
		b = b[4:]
	}
	if len(b) < 6 {
		return k, false
	}
	k.proto, k.port = proto(b[0]), uint16(b[4])<<8|uint16(b[5])
	return k, true
}
