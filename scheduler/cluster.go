package scheduler

import (
	"cmp"
	"slices"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Cluster is the scheduler's own view of the cluster: a NodeInfo per node, summing the Pods bound
// to it, and the Pods that wait for a node. It changes one Pod or one node list at a time, as
// the watches report them, so that a placement costs O(nodes examined) and a Pod write costs
// O(1), where rebuilding every NodeInfo from a full list on each write cost O(cluster). It does
// no I/O and reads no clock; one goroutine owns it.
type Cluster struct {
	// infos holds a NodeInfo per node name: registered nodes, and names Pods are bound to that
	// no node has (their NodeInfo has a nil Node and is never examined).
	infos map[string]*NodeInfo
	// ordered are the registered nodes by name, as placements examine them.
	ordered []*NodeInfo
	nodes   []store.Item[api.Node]
	pods    map[string]podEntry
	pending map[string]struct{}
	// next is where the next sample of nodes starts, so successive Pods look at different nodes.
	next int
	// spreads are the topology spread counts of the constraints met so far, and domainsOf the
	// values of each topology label among the nodes; both dropped when the nodes change.
	spreads   map[spreadKey]*spreadCounts
	domainsOf map[string]map[string]struct{}
	// gen changes whenever room may have appeared (a node changed, a bound Pod went away), so a
	// Pod that fit nowhere at one gen is tried again only at another (see Scheduler.failed).
	gen uint64
}

// podEntry is a Pod as last read, or as bound by this scheduler before its watch says so.
type podEntry struct {
	item store.Item[api.Pod]
	info *PodInfo
}

// NewCluster returns an empty Cluster.
func NewCluster() *Cluster {
	return &Cluster{infos: map[string]*NodeInfo{}, pods: map[string]podEntry{}, pending: map[string]struct{}{},
		spreads: map[spreadKey]*spreadCounts{}, domainsOf: map[string]map[string]struct{}{}}
}

// SetNodes replaces the registered nodes by items, keeping every node's Pods.
func (c *Cluster) SetNodes(items []store.Item[api.Node]) {
	c.nodes = items
	seen := make(map[string]bool, len(items))
	c.ordered = c.ordered[:0]
	for i := range items {
		node := &items[i].Value
		seen[node.Metadata.Name] = true
		n, ok := c.infos[node.Metadata.Name]
		if !ok {
			n = NewNodeInfo(nil)
			c.infos[node.Metadata.Name] = n
		}
		n.SetNode(node)
		c.ordered = append(c.ordered, n)
	}
	for name, n := range c.infos {
		if !seen[name] {
			c.forgetNode(name, n)
		}
	}
	slices.SortFunc(c.ordered, func(a, b *NodeInfo) int { return cmp.Compare(a.Name(), b.Name()) })
	// A node's labels may have changed: count again when next asked.
	clear(c.spreads)
	clear(c.domainsOf)
	c.gen++
}

// forgetNode drops an unregistered node, or keeps it unregistered while Pods are bound to it.
func (c *Cluster) forgetNode(name string, n *NodeInfo) {
	if len(n.Pods) == 0 {
		delete(c.infos, name)
		return
	}
	n.SetNode(nil)
}

// SetPod records it, unless the Cluster holds a revision of it as new: that is a bind of this
// scheduler its watch has not shown yet (see Assume).
func (c *Cluster) SetPod(it store.Item[api.Pod]) {
	if old, ok := c.pods[it.Name]; ok && it.ModRevision <= old.item.ModRevision {
		return
	}
	c.put(it)
}

// Assume records it, a Pod this scheduler bound (or saw bound) whose watch event may come
// later: its revision stays the one the Pod was read at, so the older, unbound version in the
// watch's pipeline does not undo the bind, and the bind's own event replaces it.
func (c *Cluster) Assume(it store.Item[api.Pod]) { c.put(it) }

// put replaces the Pod named it.Name by it.
func (c *Cluster) put(it store.Item[api.Pod]) {
	c.DeletePod(it.Name)
	e := podEntry{item: it, info: NewPodInfo(&it.Value)}
	c.pods[it.Name] = e
	node := it.Value.Spec.NodeName
	if node == "" {
		c.pending[it.Name] = struct{}{}
		return
	}
	n, ok := c.infos[node]
	if !ok {
		n = NewNodeInfo(nil)
		c.infos[node] = n
	}
	n.AddPod(e.info)
	c.countSpread(n, e.info, 1)
}

// DeletePod forgets the Pod named name.
func (c *Cluster) DeletePod(name string) {
	e, ok := c.pods[name]
	if !ok {
		return
	}
	delete(c.pods, name)
	delete(c.pending, name)
	node := e.item.Value.Spec.NodeName
	if n := c.infos[node]; n != nil {
		n.RemovePod(name)
		c.countSpread(n, e.info, -1)
		c.gen++
		if n.Node == nil && len(n.Pods) == 0 {
			delete(c.infos, node)
		}
	}
}

// ResyncPods makes items, a full list, the Pods of the Cluster: after a relist, when the watch
// may have missed deletes.
func (c *Cluster) ResyncPods(items []store.Item[api.Pod]) {
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		seen[it.Name] = true
		c.SetPod(it)
	}
	for name := range c.pods {
		if !seen[name] {
			c.DeletePod(name)
		}
	}
}

// Pending returns the Pods waiting for a node, in key order.
func (c *Cluster) Pending() []store.Item[api.Pod] {
	out := make([]store.Item[api.Pod], 0, len(c.pending))
	for name := range c.pending {
		out = append(out, c.pods[name].item)
	}
	slices.SortFunc(out, func(a, b store.Item[api.Pod]) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Nodes returns the registered nodes as examined, by name; read-only.
func (c *Cluster) Nodes() []*NodeInfo { return c.ordered }

// Place picks the node of pod among a sample of want feasible nodes (see SampleSize), starting
// where the last sample ended. It changes nothing but where the next sample starts.
func (c *Cluster) Place(pod *PodInfo, p Profile, want int) (Placement, *FitError) {
	if len(c.ordered) == 0 {
		return schedule(pod, nil, p, want, 0)
	}
	c.prepareSpread(pod)
	start := c.next % len(c.ordered)
	pl, err := schedule(pod, c.ordered, p, want, start)
	c.next = (start + pl.Examined) % len(c.ordered)
	return pl, err
}

// lifecycle returns what the node lifecycle reads (see nodelost.go): every registered node, and
// the Pods bound to a node that is not Ready or not registered, in key order.
func (c *Cluster) lifecycle() listing {
	l := listing{nodes: c.nodes}
	for _, n := range c.infos {
		if n.Node != nil && n.Node.Status.Ready {
			continue
		}
		for name := range n.Pods {
			l.pods = append(l.pods, c.pods[name].item)
		}
	}
	slices.SortFunc(l.pods, func(a, b store.Item[api.Pod]) int { return cmp.Compare(a.Name, b.Name) })
	return l
}

// SampleSize is how many feasible nodes a placement looks for among n: all of them up to
// floor, else percent of them, but never fewer than floor. kube-scheduler does the same
// (percentageOfNodesToScore: adaptive, 50% less 1% per 125 nodes, at least 5% and 100 nodes);
// Nomad looks at fewer still: log2(n) feasible nodes for a service job, 2 for a batch job
// (the power of two choices), all of them only for a job with spread or affinities. The
// sample trades the best node for a good one, and keeps a placement's cost flat as n grows.
func SampleSize(n, floor, percent int) int {
	return min(n, max(floor, n*percent/100))
}
