package scheduler

import (
	"encoding/json"

	"github.com/gitfleet/gitfleet/api"
)

// spreadKey names one set of topology spread counts: the Pods of namespace ns that selector
// (canonical JSON) selects, per value of the node label topologyKey.
type spreadKey struct{ ns, topologyKey, selector string }

// spreadCounts is how many Pods one selector selects per topology value, over bound Pods.
type spreadCounts struct {
	key    spreadKey
	sel    *api.PodSelector
	counts map[string]int
}

// SpreadState is what the PodTopologySpread plugins read of one constraint of a Pod, prepared
// before a placement (as kube-scheduler's PreFilter does): the counts per topology value, the
// smallest over the values registered nodes have, and whether the Pod counts itself.
type SpreadState struct {
	Constraint *api.TopologySpreadConstraint
	Counts     map[string]int
	Min        int
	Self       int
}

// spreadKeyOf is the key of constraint c of a Pod in namespace ns.
func spreadKeyOf(ns string, c *api.TopologySpreadConstraint) spreadKey {
	sel, _ := json.Marshal(c.LabelSelector) // maps marshal sorted: one selector, one key
	return spreadKey{ns: ns, topologyKey: c.TopologyKey, selector: string(sel)}
}

// prepareSpread fills pod.Spread from the Cluster's counts, building those of a constraint
// the first time it is met; they are then kept as Pods come and go (see countSpread), so a
// placement costs O(topology values), not O(Pods).
func (c *Cluster) prepareSpread(pod *PodInfo) {
	cs := pod.Pod.Spec.TopologySpreadConstraints
	if len(cs) == 0 {
		return
	}
	pod.Spread = make([]SpreadState, len(cs))
	for i := range cs {
		key := spreadKeyOf(pod.Pod.Metadata.Namespace, &cs[i])
		sc, ok := c.spreads[key]
		if !ok {
			sc = c.buildSpread(key, cs[i].LabelSelector)
		}
		pod.Spread[i] = SpreadState{Constraint: &cs[i], Counts: sc.counts, Min: minCount(sc.counts, c.domains(key.topologyKey))}
		if selects(key.ns, &api.PodAffinityTerm{LabelSelector: sc.sel}, pod.Pod) {
			pod.Spread[i].Self = 1
		}
	}
}

// buildSpread counts from scratch the Pods sel selects, and keeps the counts up to date.
func (c *Cluster) buildSpread(key spreadKey, sel *api.PodSelector) *spreadCounts {
	sc := &spreadCounts{key: key, sel: sel, counts: map[string]int{}}
	for _, n := range c.infos {
		for _, p := range n.Pods {
			sc.count(n, p, 1)
		}
	}
	c.spreads[key] = sc
	return sc
}

// count adds delta to the value of n's topology label when sc selects pod.
func (sc *spreadCounts) count(n *NodeInfo, pod *PodInfo, delta int) {
	if n.Node == nil || !selects(sc.key.ns, &api.PodAffinityTerm{LabelSelector: sc.sel}, pod.Pod) {
		return
	}
	if v, ok := n.Node.Metadata.Labels[sc.key.topologyKey]; ok {
		sc.counts[v] += delta
	}
}

// countSpread adds delta for pod, bound to n, to every set of counts kept.
func (c *Cluster) countSpread(n *NodeInfo, pod *PodInfo, delta int) {
	for _, sc := range c.spreads {
		sc.count(n, pod, delta)
	}
}

// domains returns the values of label key among the registered nodes, kept until the nodes
// change.
func (c *Cluster) domains(key string) map[string]struct{} {
	if d, ok := c.domainsOf[key]; ok {
		return d
	}
	d := map[string]struct{}{}
	for _, n := range c.ordered {
		if v, ok := n.Node.Metadata.Labels[key]; ok {
			d[v] = struct{}{}
		}
	}
	c.domainsOf[key] = d
	return d
}

// minCount is the smallest count over values; 0 when there are none.
func minCount(counts map[string]int, values map[string]struct{}) int {
	first, least := true, 0
	for v := range values {
		if n := counts[v]; first || n < least {
			first, least = false, n
		}
	}
	return least
}

// naiveSpread prepares pod.Spread by counting every Pod of nodes: Schedule's way, without a
// Cluster.
func naiveSpread(pod *PodInfo, nodes []*NodeInfo) {
	c := NewCluster()
	c.ordered = nodes
	for _, n := range nodes {
		c.infos[n.Name()] = n
	}
	c.prepareSpread(pod)
}
