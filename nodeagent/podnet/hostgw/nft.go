package hostgw

import (
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// syncMasq makes gitfleet's nftables table m, leaving it as it is when it already is. Otherwise
// it replaces the whole table in one batch, which the kernel applies atomically: there is no
// moment without the masquerade rule, and no other table is touched. Each sync has a connection
// of its own, so that a batch it gave up on is never sent by the next.
func (r *Router) syncMasq(m masq) error {
	c, err := nftables.New(r.nftOpts...)
	if err != nil {
		return fmt.Errorf("sync pod masquerade: open nftables: %w", err)
	}
	same, err := masqPresent(c, m)
	if err != nil {
		return fmt.Errorf("sync pod masquerade: %w", err)
	}
	if same {
		return nil
	}
	t := m.table()
	c.AddTable(t) // so that the delete below finds a table the first time
	c.DelTable(t)
	c.AddTable(t)
	if err := c.AddSet(m.set(t), m.elements()); err != nil {
		return fmt.Errorf("sync pod masquerade: %w", err)
	}
	ch := c.AddChain(m.chain(t))
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: m.exprs()})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("sync pod masquerade: program table %s: %w", TableName, err)
	}
	r.log.Info("pod masquerade programmed", "table", TableName, "pods", m.pods.String(), "pod_ranges", len(m.ranges))
	return nil
}

// masqPresent reports whether gitfleet's table holds exactly m: the set's elements, and one
// chain of the right hook with the one rule.
func masqPresent(c *nftables.Conn, m masq) (bool, error) {
	t, err := c.ListTableOfFamily(TableName, nftables.TableFamilyIPv4)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read table %s: %w", TableName, err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return false, fmt.Errorf("read chains of %s: %w", TableName, err)
	}
	var mine []*nftables.Chain
	for _, c := range chains {
		if c.Table.Name == TableName {
			mine = append(mine, c)
		}
	}
	want := m.chain(t)
	if len(mine) != 1 || !sameChain(mine[0], want) {
		return false, nil
	}
	rules, err := c.GetRules(t, mine[0])
	if err != nil {
		return false, fmt.Errorf("read rules of %s: %w", TableName, err)
	}
	if len(rules) != 1 || !sameExprs(rules[0].Exprs, m.exprs()) {
		return false, nil
	}
	return setPresent(c, t, m)
}

// setPresent reports whether the table's only set is m's with m's elements.
func setPresent(c *nftables.Conn, t *nftables.Table, m masq) (bool, error) {
	sets, err := c.GetSets(t)
	if err != nil {
		return false, fmt.Errorf("read sets of %s: %w", TableName, err)
	}
	if len(sets) != 1 || sets[0].Name != SetName || !sets[0].Interval || sets[0].KeyType.Name != nftables.TypeIPAddr.Name {
		return false, nil
	}
	els, err := c.GetSetElements(sets[0])
	if err != nil {
		return false, fmt.Errorf("read set %s: %w", SetName, err)
	}
	return slices.EqualFunc(sortedElements(els), sortedElements(m.elements()), sameElement), nil
}

func sameChain(got, want *nftables.Chain) bool {
	return got.Name == want.Name && got.Type == want.Type &&
		got.Hooknum != nil && *got.Hooknum == *want.Hooknum &&
		got.Priority != nil && *got.Priority == *want.Priority &&
		(got.Policy == nil || *got.Policy == nftables.ChainPolicyAccept)
}

func sameElement(a, b nftables.SetElement) bool {
	return slices.Equal(a.Key, b.Key) && a.IntervalEnd == b.IntervalEnd
}

// sortedElements orders set elements by key, an interval's end before the next one's start at
// the same address, so that what the kernel lists compares with what was asked for.
func sortedElements(els []nftables.SetElement) []nftables.SetElement {
	els = slices.Clone(els)
	slices.SortFunc(els, func(a, b nftables.SetElement) int {
		if c := slices.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		switch {
		case a.IntervalEnd == b.IntervalEnd:
			return 0
		case a.IntervalEnd:
			return -1
		}
		return 1
	})
	return els
}

// sameExprs compares a rule as the kernel lists it with one as built: a lookup comes back with
// its set's name, not the ID it had in the batch that made it.
func sameExprs(got, want []expr.Any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if gl, ok := g.(*expr.Lookup); ok {
			if wl, ok := w.(*expr.Lookup); ok {
				gc, wc := *gl, *wl
				gc.SetID, wc.SetID = 0, 0
				g, w = &gc, &wc
			}
		}
		if !reflect.DeepEqual(g, w) {
			return false
		}
	}
	return true
}
