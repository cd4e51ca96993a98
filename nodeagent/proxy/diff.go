package proxy

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// state is what a table holds, as far as the diff needs it: each chain's fingerprint and rule
// count, and each map's elements. It is read from the kernel at start and, after each batch
// that succeeded, taken from the model that batch programmed.
type state struct {
	chains map[string]liveChain
	maps   map[string]map[elemKey]string
}

// liveChain is a chain as found: the fingerprint its first rule carries ("" for none) and how
// many rules it has, so that a rule deleted by hand shows.
type liveChain struct {
	fingerprint string
	rules       int
}

func emptyState() *state {
	return &state{chains: map[string]liveChain{}, maps: map[string]map[elemKey]string{}}
}

// state is what the table holds once m is programmed.
func (m *model) state() *state {
	s := &state{chains: make(map[string]liveChain, len(m.chains)), maps: map[string]map[elemKey]string{}}
	for name, c := range m.chains {
		s.chains[name] = liveChain{fingerprint: c.fingerprint(), rules: len(c.rules)}
	}
	for name, els := range m.maps {
		s.maps[name] = maps.Clone(els)
	}
	return s
}

// action is what a change does to the table.
type action int

const (
	actionAddChain action = iota
	actionWriteChain
	actionAddElement
	actionReplaceElement
	actionDeleteElement
	actionFlushChain
	actionDeleteChain
)

func (a action) String() string {
	switch a {
	case actionAddChain:
		return "add chain"
	case actionWriteChain:
		return "write chain"
	case actionAddElement:
		return "add element"
	case actionReplaceElement:
		return "replace element"
	case actionDeleteElement:
		return "delete element"
	case actionFlushChain:
		return "flush chain"
	case actionDeleteChain:
		return "delete chain"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// change is one step from the live table to the wanted one. Chain names the chain a chain
// change is about, and an element's verdict target; set and key name an element.
type change struct {
	action action
	chain  string
	set    string
	key    elemKey
	// flush is set on a write of a chain that has rules to drop first.
	flush bool
}

func (c change) String() string {
	switch c.action {
	case actionAddElement, actionReplaceElement, actionDeleteElement:
		return fmt.Sprintf("%s %s { %s : goto %s }", c.action, c.set, c.key, c.chain)
	}
	return c.action.String() + " " + c.chain
}

// diff is the changes that turn live into want, in an order where every prefix leaves a table
// that works: new chains first (empty), then their rules (endpoint chains before the Service
// chains that go to them), then the map elements that lead to them, and last the removal of
// what is no longer wanted (elements, then rules, then chains). A chain whose fingerprint and
// rule count match is left alone, and so is every connection it carried: conntrack keeps NAT.
func diff(live *state, want *model) []change {
	var adds, writes, obsolete []string
	for name, c := range want.chains {
		have, ok := live.chains[name]
		if !ok {
			adds = append(adds, name)
		}
		if have.fingerprint != c.fingerprint() || have.rules != len(c.rules) {
			writes = append(writes, name)
		}
	}
	for name := range live.chains {
		if _, ok := want.chains[name]; !ok {
			obsolete = append(obsolete, name)
		}
	}
	slices.SortFunc(adds, compareChains)
	slices.SortFunc(writes, compareChains)
	slices.SortFunc(obsolete, compareChains)
	var out []change
	for _, name := range adds {
		out = append(out, change{action: actionAddChain, chain: name})
	}
	for _, name := range writes {
		out = append(out, change{action: actionWriteChain, chain: name, flush: live.chains[name].rules > 0})
	}
	out = append(out, diffElements(live, want)...)
	for _, name := range obsolete {
		if live.chains[name].rules > 0 {
			out = append(out, change{action: actionFlushChain, chain: name})
		}
	}
	for _, name := range obsolete {
		out = append(out, change{action: actionDeleteChain, chain: name})
	}
	return out
}

// diffElements adds and replaces the wanted elements, then deletes the others.
func diffElements(live *state, want *model) []change {
	var adds, dels []change
	for _, set := range mapNames() {
		have, wanted := live.maps[set], want.maps[set]
		var add, del []change
		for k, v := range wanted {
			switch target, ok := have[k]; {
			case !ok:
				add = append(add, change{action: actionAddElement, set: set, key: k, chain: v})
			case target != v:
				add = append(add, change{action: actionReplaceElement, set: set, key: k, chain: v})
			}
		}
		for k, v := range have {
			if _, ok := wanted[k]; !ok {
				del = append(del, change{action: actionDeleteElement, set: set, key: k, chain: v})
			}
		}
		adds = append(adds, sortedByKey(add)...)
		dels = append(dels, sortedByKey(del)...)
	}
	return append(adds, dels...)
}

// compareChains orders endpoint chains first, then Service chains, then the rest: the order
// in which chains must be filled for each to find what it goes to already working.
func compareChains(a, b string) int {
	return cmp.Or(cmp.Compare(chainRank(a), chainRank(b)), strings.Compare(a, b))
}

func chainRank(name string) int {
	switch {
	case strings.HasPrefix(name, prefixEndpoint):
		return 0
	case strings.HasPrefix(name, prefixService):
		return 1
	case strings.HasPrefix(name, prefixExternal):
		return 2
	}
	return 3
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func sortedElemKeys(m map[elemKey]string) []elemKey {
	return slices.SortedFunc(maps.Keys(m), compareKeys)
}

func sortedByKey(cs []change) []change {
	slices.SortFunc(cs, func(a, b change) int { return compareKeys(a.key, b.key) })
	return cs
}

func compareKeys(a, b elemKey) int {
	return cmp.Or(a.addr.Compare(b.addr), cmp.Compare(a.proto, b.proto), cmp.Compare(a.port, b.port))
}
