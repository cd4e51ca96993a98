package proxy

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/netip"
	"strings"
)

// TableName is the proxy's own nftables table (family ip). Nothing else writes it; the proxy
// touches no other table.
const TableName = "gitfleet-proxy"

// Chains every table holds, whatever the Services.
const (
	chainNatPrerouting  = "nat-prerouting"
	chainNatOutput      = "nat-output"
	chainNatPostrouting = "nat-postrouting"
	chainFilterInput    = "filter-input"
	chainFilterForward  = "filter-forward"
	chainFilterOutput   = "filter-output"
	chainServices       = "services"
	chainEndpointsCheck = "endpoints-check"
	chainMarkMasq       = "mark-for-masquerade"
	chainMasquerading   = "masquerading"
	chainReject         = "reject-chain"
)

// The maps from a Service's address to its chain, and from a Service without a ready endpoint
// to the reject chain. Their IDs name them within the batch that makes them.
const (
	mapServiceIPs          = "service-ips"
	mapServiceNodePorts    = "service-nodeports"
	mapNoEndpointServices  = "no-endpoint-services"
	mapNoEndpointNodePorts = "no-endpoint-nodeports"
)

// masqMark is the packet mark bit that asks the postrouting chain to masquerade a new
// connection; kube-proxy's bit, so that a node running both agrees on it.
const masqMark = 0x4000

// Prefixes of the per-Service chains. A chain name is the prefix, a hash of the identity and
// the identity itself, so that it is stable, unique and readable in `nft list table`.
const (
	prefixService  = "svc-"
	prefixExternal = "ext-"
	prefixEndpoint = "ep-"
)

// portID names one port of a Service: namespace/name/protocol/port name, as kube-proxy does.
func portID(namespace, name string, p proto, portName string) string {
	return namespace + "/" + name + "/" + p.String() + "/" + portName
}

func serviceChain(id string) string  { return chainName(prefixService, id) }
func externalChain(id string) string { return chainName(prefixExternal, id) }

// endpointChain is named by everything its rules hold: a chain that exists is right.
func endpointChain(id string, ip netip.Addr, port uint16) string {
	return chainName(prefixEndpoint, fmt.Sprintf("%s__%s/%d", id, ip, port))
}

// maxChainName is the kernel's limit on a chain name, less its terminating NUL.
const maxChainName = 255

// chainName is prefix, the hash of id and id, cut to the kernel's limit: the hash keeps long
// names unique, the rest is for people reading the table.
func chainName(prefix, id string) string {
	name := prefix + hashOf(id) + "-" + id
	if len(name) > maxChainName {
		name = name[:maxChainName]
	}
	return name
}

// hashOf is 8 characters of the SHA-256 of s, base32 as kube-proxy's chain names.
func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:])[:8])
}

// proto is an IP protocol number a Service port may have.
type proto uint8

const (
	protoTCP proto = 6
	protoUDP proto = 17
)

func (p proto) String() string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	}
	return fmt.Sprintf("proto-%d", uint8(p))
}

// parseProto reads an api protocol; ok is false for one the proxy does not serve (SCTP).
func parseProto(s string) (proto, bool) {
	switch strings.ToUpper(s) {
	case "TCP", "":
		return protoTCP, true
	case "UDP":
		return protoUDP, true
	}
	return 0, false
}

func mapNames() []string {
	return []string{mapServiceIPs, mapServiceNodePorts, mapNoEndpointServices, mapNoEndpointNodePorts}
}

// mapID names a map within the batch that makes it (a rule refers to it before the kernel
// knows it); only uniqueness within a batch matters. Anonymous maps take IDs above these.
func mapID(name string) uint32 {
	switch name {
	case mapServiceIPs:
		return 1
	case mapServiceNodePorts:
		return 2
	case mapNoEndpointServices:
		return 3
	case mapNoEndpointNodePorts:
		return 4
	}
	return 0
}

// nodePortMap reports whether a map's keys are protocol and port alone.
func nodePortMap(name string) bool {
	return name == mapServiceNodePorts || name == mapNoEndpointNodePorts
}
