package store

import (
	"fmt"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"go.etcd.io/etcd/api/v3/authpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// This file is the table of who may read and write what (see doc.go), in etcd's terms: key
// ranges granted to roles. etcd only grants, so "all but the tokens" is two ranges around them.
// etcd checks a read of a range (a list, a watch, a transaction's compare) against the union of
// the ranges a user may read, a write of a key (a put, a delete, a revoke of a lease holding
// the key) against those it may write.

// Permission is one key range a role may read, write or both: the key alone when RangeEnd is
// empty, else the keys from Key up to RangeEnd (excluded).
type Permission struct {
	Key, RangeEnd string
	Type          authpb.Permission_Type
}

func (p Permission) String() string {
	if p.RangeEnd == "" {
		return fmt.Sprintf("%s %s", p.Type, p.Key)
	}
	return fmt.Sprintf("%s [%s, %s)", p.Type, p.Key, p.RangeEnd)
}

// prefixPerm is t on every key that starts with p.
func prefixPerm(p string, t authpb.Permission_Type) Permission {
	return Permission{Key: p, RangeEnd: clientv3.GetPrefixRangeEnd(p), Type: t}
}

// revisionProbeKey is the key Revision reads (it never exists): reading it is how any identity
// learns the store's revision.
const revisionProbeKey = root + "revision-probe"

// readAllButTokens reads every key of gitfleet but the join tokens, whose secrets' hashes
// would let a reader guess offline.
func readAllButTokens() []Permission {
	tokens := prefix(Tokens)
	return []Permission{
		{Key: root, RangeEnd: tokens, Type: authpb.READ},
		{Key: clientv3.GetPrefixRangeEnd(tokens), RangeEnd: clientv3.GetPrefixRangeEnd(root), Type: authpb.READ},
	}
}

// identityPermissions is what the role of a cluster-wide identity grants (nil for admin and
// root, which have etcd's root role).
func identityPermissions(id string) []Permission {
	var writes []string
	switch id {
	case UserController:
		writes = []string{
			prefix(Desired), prefix(Sync), prefix(History), prefix(HistorySeq), prefix(Pin), // sync controller
			prefix(Pods), prefix(NodePods), prefix(PodStatus), prefix(Health), prefix(ReplicaSets), // workload controller
			prefix(NodeSpecs), prefix(PodCIDRs), // node IPAM
			prefix(ServiceStatus), prefix(ServiceIPs), prefix(NodePorts), // services
			prefix(Endpoints),   // endpoints
			prefix(SyncRequest), // the webhook served by the controller's process
			eventsPrefix(api.EventSourceController),
			LeaderPrefix(ElectionController) + "/", LeaderPrefix(ElectionWorkloads) + "/", LeaderPrefix(ElectionNodeIPAM) + "/",
			LeaderPrefix(ElectionServices) + "/", LeaderPrefix(ElectionEndpoints) + "/",
		}
	case UserScheduler:
		// Binding writes the Pod and its node index; an eviction deletes both and the status.
		writes = []string{prefix(Pods), prefix(NodePods), prefix(PodStatus), prefix(NodesStatus),
			LeaderPrefix(ElectionScheduler) + "/", eventsPrefix(api.EventSourceScheduler)}
	case UserViewer:
	default:
		return nil
	}
	perms := readAllButTokens()
	for _, w := range writes {
		perms = append(perms, prefixPerm(w, authpb.WRITE))
	}
	return perms
}

// nodePermissions is what every node's role grants, before the ConfigMaps of its Pods: it
// writes its own record, heartbeat, the statuses and the events under its name; it reads every node (it
// routes to their Pod ranges), the Pods bound to it, the desired Namespaces (whether one
// allows host access), the Services' allocations and their endpoints (what its proxy forwards
// and its DNS answers).
func nodePermissions(node string) []Permission {
	return []Permission{
		prefixPerm(prefix(Nodes), authpb.READ),
		prefixPerm(prefix(NodeSpecs), authpb.READ),
		prefixPerm(prefix(NodeLeases), authpb.READ),
		prefixPerm(nodePodsPrefix(node), authpb.READ),
		prefixPerm(desiredKindPrefix(api.KindNamespace), authpb.READ),
		prefixPerm(prefix(ServiceStatus), authpb.READ),
		prefixPerm(prefix(Endpoints), authpb.READ),
		{Key: revisionProbeKey, Type: authpb.READ},
		{Key: nodeKey(node), Type: authpb.WRITE},
		{Key: nodeLeaseKey(node), Type: authpb.WRITE},
		prefixPerm(podStatusPrefix(node), authpb.WRITE),
		// its events: read, to count a repeated event into the one stored
		prefixPerm(eventsPrefix(api.EventSourceNode(node)), authpb.READWRITE),
	}
}

// desiredKindPrefix is the prefix of the desired objects of kind.
func desiredKindPrefix(kind string) string { return prefix(Desired) + kind + "/" }

// configMapRead lets a node read the desired ConfigMap k.
func configMapRead(k api.Key) Permission {
	return Permission{Key: desiredKey(k), Type: authpb.READ}
}

// isConfigMapRead reports whether p is a grant of configMapRead.
func isConfigMapRead(p Permission) bool {
	return p.Type == authpb.READ && p.RangeEnd == "" && strings.HasPrefix(p.Key, desiredKindPrefix(api.KindConfigMap))
}

// diffPermissions returns what to grant and revoke to turn have into want, leaving the
// permissions of have that keep (nil: none) accepts. A range held with another type is granted
// again with the type wanted, which etcd changes in place.
func diffPermissions(have, want []Permission, keep func(Permission) bool) (grant, revoke []Permission) {
	type span struct{ key, end string }
	wanted := make(map[span]authpb.Permission_Type, len(want))
	for _, p := range want {
		wanted[span{p.Key, p.RangeEnd}] = p.Type
	}
	held := map[span]bool{}
	for _, p := range have {
		s := span{p.Key, p.RangeEnd}
		t, ok := wanted[s]
		switch {
		case ok && t == p.Type:
			held[s] = true
		case !ok && (keep == nil || !keep(p)):
			revoke = append(revoke, p)
		}
	}
	for _, p := range want {
		s := span{p.Key, p.RangeEnd}
		if !held[s] {
			grant = append(grant, p)
			held[s] = true
		}
	}
	return grant, revoke
}
