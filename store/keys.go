package store

import (
	"fmt"
	"strings"

	"github.com/gitfleet/gitfleet/api"
)

// Resource names one key prefix of the layout.
type Resource string

// The resources of the key layout.
const (
	Desired Resource = "desired"
	Sync    Resource = "sync"
	Pods    Resource = "pods"
	// PodStatus holds what each node observed of the Pods bound to it, under the node's name,
	// so that a node's rights over the statuses it writes are one prefix.
	PodStatus Resource = "podstatus"
	Nodes     Resource = "nodes"
	// NodeLeases holds one key per live node, under the agent's lease: its heartbeat.
	NodeLeases Resource = "nodeleases"
	// NodeSpecs holds what the control plane decides for each node (Pod CIDR, cordon).
	NodeSpecs Resource = "nodespecs"
	// PodCIDRs is the ledger of assigned Pod ranges: range -> node.
	PodCIDRs Resource = "podcidrs"
	// ServiceStatus holds what the services controller allocated to each Service (its virtual
	// IP and node ports), under namespace/name.
	ServiceStatus Resource = "servicestatus"
	// ServiceIPs is the ledger of virtual IPs: ip -> namespace/name.
	ServiceIPs Resource = "serviceips"
	// NodePorts is the ledger of node ports: port -> namespace/name.
	NodePorts Resource = "nodeports"
	// Endpoints holds each Service as the nodes see it (api.Endpoints), under namespace/name,
	// written by the endpoints controller.
	Endpoints Resource = "endpoints"
	// NodePods indexes each bound Pod under its node, so an agent reads only its own share.
	NodePods Resource = "nodepods"
	// NodesStatus holds the scheduler's record of the nodes (one key, "all").
	NodesStatus Resource = "nodesstatus"
	History     Resource = "history"
	// HistorySeq holds the last history ID of each source.
	HistorySeq  Resource = "historyseq"
	Pin         Resource = "pin"
	Health      Resource = "health"
	SyncRequest Resource = "syncrequest"
	// Tokens holds the join tokens: a hash of each secret and its expiry.
	Tokens Resource = "tokens"
	// Leaders holds one election per role (see LeaderPrefix).
	Leaders Resource = "leaders"
	// ReplicaSets holds the workload controller's record of each template of a Deployment
	// (api.ReplicaSet), under namespace/deployment/template-hash.
	ReplicaSets Resource = "replicasets"
	// Events holds the event log: each source's events about each object, under a lease
	// (see events.go).
	Events Resource = "events"
)

const root = "/gitfleet/"

func prefix(r Resource) string { return root + string(r) + "/" }

// desiredKey is the key of k: its String, kind/namespace/name, under Desired.
func desiredKey(k api.Key) string { return prefix(Desired) + k.String() }

func podKey(namespace, name string) string { return prefix(Pods) + namespace + "/" + name }

// podStatusPrefix is the prefix of the statuses node writes; podStatusKey one of them.
func podStatusPrefix(node string) string { return prefix(PodStatus) + node + "/" }

func podStatusKey(node, namespace, name string) string {
	return podStatusPrefix(node) + namespace + "/" + name
}

func nodeKey(name string) string { return prefix(Nodes) + name }

func nodeLeaseKey(name string) string { return prefix(NodeLeases) + name }

func nodeSpecKey(name string) string { return prefix(NodeSpecs) + name }

// podCIDRKey names a range without its slash: 10.244.3.0/24 -> 10.244.3.0_24.
func podCIDRKey(cidr string) string { return prefix(PodCIDRs) + strings.ReplaceAll(cidr, "/", "_") }

// nodePodsPrefix is the prefix of the Pods bound to node; nodePodKey one of them.
func nodePodsPrefix(node string) string { return prefix(NodePods) + node + "/" }

func nodePodKey(node, namespace, name string) string {
	return nodePodsPrefix(node) + namespace + "/" + name
}

func syncKey(source string) string { return prefix(Sync) + source }

func healthKey(source string) string { return prefix(Health) + source }

func pinKey(source string) string { return prefix(Pin) + source }

func syncRequestKey(source string) string { return prefix(SyncRequest) + source }

func tokenKey(id string) string { return prefix(Tokens) + id }

func historySeqKey(source string) string { return prefix(HistorySeq) + source }

// historyKey zero-pads id, so that the keys of a source sort in the order of their IDs.
func historyKey(source string, id int64) string {
	return fmt.Sprintf("%s%s/%020d", prefix(History), source, id)
}

var desiredKeyPrefix = prefix(Desired)

// parseDesiredKey turns a desired key back into an api.Key.
func parseDesiredKey(key string) (api.Key, error) {
	parts := strings.Split(strings.TrimPrefix(key, desiredKeyPrefix), "/")
	if len(parts) != 3 {
		return api.Key{}, fmt.Errorf("parse desired key %q: want kind/namespace/name", key)
	}
	return api.Key{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, nil
}

// relName strips a resource's prefix, leaving "namespace/name" or "name".
func relName(r Resource, key string) string { return strings.TrimPrefix(key, prefix(r)) }

// Key is the etcd key of name under r, for tools and tests that read or write behind the
// store's back (package storetest); gitfleet's own loops go through the typed methods.
func Key(r Resource, name string) string { return prefix(r) + name }
