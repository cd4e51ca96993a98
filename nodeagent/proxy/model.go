package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/gitfleet/gitfleet/api"
)

// model is the table the proxy wants: every chain with its rules, and the elements of its maps.
// It is a pure function of the bridge and the Services (build), so that tests compare it
// without a kernel and Sync diffs it against the table it reads.
type model struct {
	chains map[string]*chain
	// maps holds, per map, each key's verdict: goto the named chain.
	maps map[string]map[elemKey]string
}

// chain is one chain of the table; hook is nil for a chain that is only jumped to.
type chain struct {
	hook  *hook
	rules []rule
	// fp caches fingerprint: a model built from the memo shares its chains.
	fp string
}

// hook makes a chain a base chain: where netfilter calls it.
type hook struct {
	typ  nftables.ChainType
	num  *nftables.ChainHook
	prio *nftables.ChainPriority
	text string
}

// elemKey is a map's key: address, protocol and port of a cluster IP; protocol and port alone
// for a node port (addr invalid).
type elemKey struct {
	addr  netip.Addr
	proto proto
	port  uint16
}

func (k elemKey) String() string {
	if !k.addr.IsValid() {
		return fmt.Sprintf("%s . %d", k.proto, k.port)
	}
	return fmt.Sprintf("%s . %s . %d", k.addr, k.proto, k.port)
}

// fingerprint identifies what the chain holds. The first rule carries it as its comment, so
// that a restarted proxy reads which chains are already right without decoding their rules.
func (c *chain) fingerprint() string {
	if c.fp != "" {
		return c.fp
	}
	h := sha256.New()
	if c.hook != nil {
		fmt.Fprintln(h, c.hook.text)
	}
	for _, r := range c.rules {
		fmt.Fprintln(h, r.text)
	}
	c.fp = hex.EncodeToString(h.Sum(nil))[:16]
	return c.fp
}

// newModel makes an empty model with room for about chains chains and elements per map.
func newModel(chains, elements int) *model {
	m := &model{chains: make(map[string]*chain, chains), maps: map[string]map[elemKey]string{}}
	for _, name := range mapNames() {
		m.maps[name] = make(map[elemKey]string, elements)
	}
	return m
}

// build is the table that serves services from the service range cidr, on a node whose Pods
// hang off bridge.
func build(bridge string, cidr netip.Prefix, services []api.Endpoints) *model {
	return newBuilder(bridge, cidr).build(services)
}

// builder builds models, remembering each Service's part of the last one: a Sync after one
// endpoint changed rebuilds one Service, not a thousand.
type builder struct {
	bridge string
	cidr   netip.Prefix
	memo   map[string]memoEntry
	// chains is how many chains the last model had.
	chains int
}

type memoEntry struct {
	svc  api.Endpoints
	part *model
}

func newBuilder(bridge string, cidr netip.Prefix) *builder {
	return &builder{bridge: bridge, cidr: cidr, memo: map[string]memoEntry{}}
}

func (b *builder) build(services []api.Endpoints) *model {
	// Sized as the last model, so that a large one grows no map while it is built.
	m := newModel(b.chains, len(services))
	m.addStatic(b.cidr)
	memo := make(map[string]memoEntry, len(services))
	for _, svc := range services {
		key := svc.Namespace + "/" + svc.Name
		e, ok := b.memo[key]
		if !ok || !sameEndpoints(e.svc, svc) {
			e = memoEntry{svc: cloneEndpoints(svc), part: newModel(0, 0)}
			e.part.addService(b.bridge, svc)
		}
		memo[key] = e
		m.merge(e.part)
	}
	b.memo, b.chains = memo, len(m.chains)
	return m
}

// merge adds part's chains and elements to m; of two Services that claim one key (two take
// the same node port), the later wins.
func (m *model) merge(part *model) {
	for name, c := range part.chains {
		m.chains[name] = c
	}
	for set, els := range part.maps {
		for k, v := range els {
			m.maps[set][k] = v
		}
	}
}

// cloneEndpoints is a deep copy of e: the memo must not share slices a caller may reuse.
func cloneEndpoints(e api.Endpoints) api.Endpoints {
	e.Ports = slices.Clone(e.Ports)
	e.Endpoints = slices.Clone(e.Endpoints)
	for i := range e.Endpoints {
		e.Endpoints[i].Ports = slices.Clone(e.Endpoints[i].Ports)
	}
	return e
}

// sameEndpoints reports whether a and b hold the same Service, ports and endpoints.
func sameEndpoints(a, b api.Endpoints) bool {
	return a.Namespace == b.Namespace && a.Name == b.Name && a.ClusterIP == b.ClusterIP &&
		slices.Equal(a.Ports, b.Ports) &&
		slices.EqualFunc(a.Endpoints, b.Endpoints, func(x, y api.Endpoint) bool {
			return x.IP == y.IP && x.Ready == y.Ready && x.Node == y.Node && x.Pod == y.Pod && slices.Equal(x.Ports, y.Ports)
		})
}

// addStatic adds the chains that do not depend on the Services: the hooks, the dispatch through
// the maps, the masquerade by mark and the reject of Services without an endpoint. The filter
// hooks see only what no DNAT took: a Service's address with no endpoint behind it, or any
// other address of the service range (a Service removed, a port it does not serve), which is
// rejected too rather than left to time out in the proxy's link.
func (m *model) addStatic(cidr netip.Prefix) {
	jump := func(c string) rule { return newRule().verdict(expr.VerdictJump, c).rule() }
	checkNew := newRule().ctStateNew().verdict(expr.VerdictJump, chainEndpointsCheck).rule()
	nat, filter := nftables.ChainTypeNAT, nftables.ChainTypeFilter
	m.chains[chainNatPrerouting] = &chain{hook: &hook{nat, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest,
		"type nat hook prerouting priority dstnat"}, rules: []rule{jump(chainServices)}}
	m.chains[chainNatOutput] = &chain{hook: &hook{nat, nftables.ChainHookOutput, nftables.ChainPriorityNATDest,
		"type nat hook output priority dstnat"}, rules: []rule{jump(chainServices)}}
	m.chains[chainNatPostrouting] = &chain{hook: &hook{nat, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource,
		"type nat hook postrouting priority srcnat"}, rules: []rule{jump(chainMasquerading)}}
	m.chains[chainFilterInput] = &chain{hook: &hook{filter, nftables.ChainHookInput, nftables.ChainPriorityFilter,
		"type filter hook input priority filter"}, rules: []rule{checkNew}}
	m.chains[chainFilterForward] = &chain{hook: &hook{filter, nftables.ChainHookForward, nftables.ChainPriorityFilter,
		"type filter hook forward priority filter"}, rules: []rule{checkNew}}
	m.chains[chainFilterOutput] = &chain{hook: &hook{filter, nftables.ChainHookOutput, nftables.ChainPriorityFilter,
		"type filter hook output priority filter"}, rules: []rule{checkNew}}
	m.chains[chainServices] = &chain{rules: []rule{
		newRule().serviceLookup(mapServiceIPs, mapID(mapServiceIPs)).rule(),
		newRule().localDaddr().nodePortLookup(mapServiceNodePorts, mapID(mapServiceNodePorts)).rule(),
	}}
	m.chains[chainEndpointsCheck] = &chain{rules: []rule{
		newRule().serviceLookup(mapNoEndpointServices, mapID(mapNoEndpointServices)).rule(),
		newRule().localDaddr().nodePortLookup(mapNoEndpointNodePorts, mapID(mapNoEndpointNodePorts)).rule(),
		newRule().daddrIn(cidr).verdict(expr.VerdictGoto, chainReject).rule(),
	}}
	m.chains[chainMarkMasq] = &chain{rules: []rule{newRule().setMark(masqMark).rule()}}
	m.chains[chainMasquerading] = &chain{rules: []rule{
		newRule().markUnset(masqMark).verdict(expr.VerdictReturn, "").rule(),
		newRule().clearMark(masqMark).rule(),
		newRule().masquerade().rule(),
	}}
	m.chains[chainReject] = &chain{rules: []rule{
		newRule().l4proto(protoTCP).rejectTCPReset().rule(),
		newRule().rejectPortUnreachable().rule(),
	}}
}

// addService adds the chains and elements of one Service: none before it has a cluster IP, none
// for a headless one.
func (m *model) addService(bridge string, svc api.Endpoints) {
	cip, err := netip.ParseAddr(svc.ClusterIP)
	if err != nil || !cip.Is4() {
		return
	}
	for i, sp := range svc.Ports {
		p, ok := parseProto(sp.Protocol)
		if !ok || sp.Port <= 0 || sp.Port > 65535 {
			continue
		}
		id := portID(svc.Namespace, svc.Name, p, sp.Name)
		key := elemKey{addr: cip, proto: p, port: uint16(sp.Port)}
		nodePort := elemKey{proto: p, port: uint16(sp.NodePort)}
		eps := m.addEndpoints(id, p, svc.Endpoints, i)
		if len(eps) == 0 {
			m.maps[mapNoEndpointServices][key] = chainReject
			if sp.NodePort > 0 {
				m.maps[mapNoEndpointNodePorts][nodePort] = chainReject
			}
			continue
		}
		svcChain := serviceChain(id)
		// Masquerade what does not come from a Pod of this node (the host, other machines):
		// the endpoint's reply must come back through this node to be un-DNATed.
		m.chains[svcChain] = &chain{rules: []rule{
			newRule().iifnameNot(bridge).verdict(expr.VerdictJump, chainMarkMasq).rule(),
			newRule().numgenVmap(eps),
		}}
		m.maps[mapServiceIPs][key] = svcChain
		if sp.NodePort > 0 {
			// A node port's client may be anywhere, its endpoint on another node: masquerade all.
			ext := externalChain(id)
			m.chains[ext] = &chain{rules: []rule{
				newRule().verdict(expr.VerdictJump, chainMarkMasq).rule(),
				newRule().verdict(expr.VerdictGoto, svcChain).rule(),
			}}
			m.maps[mapServiceNodePorts][nodePort] = ext
		}
	}
}

// addEndpoints adds a chain per ready endpoint that has port i, and returns their names.
func (m *model) addEndpoints(id string, p proto, eps []api.Endpoint, i int) []string {
	var names []string
	for _, ep := range eps {
		ip, err := netip.ParseAddr(ep.IP)
		if !ep.Ready || err != nil || !ip.Is4() || i >= len(ep.Ports) || ep.Ports[i] <= 0 || ep.Ports[i] > 65535 {
			continue
		}
		port := uint16(ep.Ports[i])
		name := endpointChain(id, ip, port)
		if _, dup := m.chains[name]; dup {
			continue
		}
		// A Pod that reaches itself through its Service (hairpin) must be masqueraded, or it
		// would answer itself from its own address, not the Service's.
		m.chains[name] = &chain{rules: []rule{
			newRule().saddr(ip).verdict(expr.VerdictJump, chainMarkMasq).rule(),
			newRule().l4proto(p).dnat(ip, port).rule(),
		}}
		names = append(names, name)
	}
	return names
}

// String renders the model as nft would list it, chains and map elements sorted: the golden
// file's format.
func (m *model) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table ip %s {\n", TableName)
	for _, name := range sortedKeys(m.maps) {
		fmt.Fprintf(&b, "\tmap %s {\n", name)
		for _, k := range sortedElemKeys(m.maps[name]) {
			fmt.Fprintf(&b, "\t\t%s : goto %s\n", k, m.maps[name][k])
		}
		b.WriteString("\t}\n")
	}
	for _, name := range sortedKeys(m.chains) {
		c := m.chains[name]
		fmt.Fprintf(&b, "\tchain %s {\n", name)
		if c.hook != nil {
			fmt.Fprintf(&b, "\t\t%s; policy accept;\n", c.hook.text)
		}
		for _, r := range c.rules {
			fmt.Fprintf(&b, "\t\t%s\n", r.text)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.String()
}
