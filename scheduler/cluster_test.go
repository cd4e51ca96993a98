package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// reference is the naive model the Cluster must agree with: the nodes and the Pods, each
// placement checked by summing every Pod from scratch.
type reference struct {
	nodes map[string]*api.Node
	pods  map[string]*api.Pod
}

// sums adds up, from every Pod, what is bound to node.
func (r *reference) sums(node string) (cpu, mem int64, pods int) {
	for _, p := range r.pods {
		if p.Spec.NodeName == node {
			c, m := api.PodRequests(&p.Spec)
			cpu, mem, pods = cpu+c, mem+m, pods+1
		}
	}
	return cpu, mem, pods
}

// fits reports whether pod fits on node by the reference's sums.
func (r *reference) fits(pod *api.Pod, node string) bool {
	n := r.nodes[node]
	capCPU, capMem, maxPods, _ := nodeCapacity(n)
	cpu, mem, pods := r.sums(node)
	c, m := api.PodRequests(&pod.Spec)
	return n.Status.Ready && cpu+c <= capCPU && mem+m <= capMem && pods < maxPods
}

// Whatever the order of node adds and removals, Pod adds, deletes and placements, the Cluster's
// sums equal the reference's, no registered node is over-committed, a Pod is placed only where
// the reference says it fits, and a Pod fits nowhere only when the reference agrees.
func TestClusterAgreesWithReference(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { checkInterleaving(t, seed) })
	}
}

func checkInterleaving(t *testing.T, seed uint64) {
	rnd := rand.New(rand.NewPCG(seed, 1))
	c, ref := NewCluster(), &reference{nodes: map[string]*api.Node{}, pods: map[string]*api.Pod{}}
	rev := int64(1)
	setNodes := func() {
		var items []store.Item[api.Node]
		for i := range 8 { // in name order, as the cache lists them
			if n, ok := ref.nodes[fmt.Sprint("n", i)]; ok {
				items = append(items, store.Item[api.Node]{Name: n.Metadata.Name, Value: *n})
			}
		}
		c.SetNodes(items)
	}
	for step := range 300 {
		rev++
		switch op := rnd.IntN(10); {
		case op == 0: // a node registers (capacity fixed by name, so a return cannot shrink it)
			i := rnd.IntN(8)
			n := testNode(fmt.Sprint("n", i), fmt.Sprint(1+i%3), fmt.Sprintf("%dGi", 1+i%2))
			n.Status.Capacity[api.ResourcePods] = fmt.Sprint(2 + i%4)
			ref.nodes[n.Metadata.Name] = n
			setNodes()
		case op == 1: // a node goes away; its Pods stay bound to its name
			delete(ref.nodes, fmt.Sprint("n", rnd.IntN(8)))
			setNodes()
		case op <= 5: // a Pod is created, Pending
			p := testPod(fmt.Sprintf("p-%d", step), requests(fmt.Sprintf("%dm", 100*(1+rnd.IntN(8))), fmt.Sprintf("%dMi", 128*(1+rnd.IntN(4)))))
			ref.pods[podName(p)] = p
			c.SetPod(store.Item[api.Pod]{Name: podName(p), Value: *p, ModRevision: rev})
		case op <= 7: // a Pod is deleted
			for name := range ref.pods {
				delete(ref.pods, name)
				c.DeletePod(name)
				break
			}
		default:
			placeOne(t, c, ref, rev)
		}
		checkSums(t, c, ref, step)
	}
}

// placeOne places the first Pending Pod of c and checks the decision against ref.
func placeOne(t *testing.T, c *Cluster, ref *reference, rev int64) {
	pending := c.Pending()
	if len(pending) == 0 {
		return
	}
	it := pending[0]
	pl, fitErr := c.Place(NewPodInfo(&it.Value), DefaultProfile(), 2)
	pod := ref.pods[it.Name]
	if fitErr != nil {
		for name := range ref.nodes {
			if ref.fits(pod, name) {
				t.Fatalf("%s fit nowhere (%v), but the reference fits it on %s", it.Name, fitErr, name)
			}
		}
		return
	}
	if !ref.fits(pod, pl.Node) {
		t.Fatalf("%s placed on %s, where the reference says it does not fit", it.Name, pl.Node)
	}
	pod.Spec.NodeName = pl.Node
	it.Value.Spec.NodeName = pl.Node
	c.Assume(it)
	// The watch then shows the bind at a later revision, and may show the older unbound one.
	c.SetPod(store.Item[api.Pod]{Name: it.Name, Value: *pod, ModRevision: rev})
}

// checkSums compares every registered node of c with ref and checks it is not over-committed.
func checkSums(t *testing.T, c *Cluster, ref *reference, step int) {
	t.Helper()
	if len(c.Nodes()) != len(ref.nodes) {
		t.Fatalf("step %d: %d nodes, reference %d", step, len(c.Nodes()), len(ref.nodes))
	}
	for _, n := range c.Nodes() {
		cpu, mem, pods := ref.sums(n.Name())
		if n.RequestedCPU != cpu || n.RequestedMemory != mem || len(n.Pods) != pods {
			t.Fatalf("step %d: node %s has %dm, %d bytes, %d pods; reference %dm, %d bytes, %d pods",
				step, n.Name(), n.RequestedCPU, n.RequestedMemory, len(n.Pods), cpu, mem, pods)
		}
		if cpu > n.CPUCapacity || mem > n.MemoryCapacity || pods > n.MaxPods {
			t.Fatalf("step %d: node %s over-committed: %dm of %dm, %d of %d bytes, %d of %d pods",
				step, n.Name(), cpu, n.CPUCapacity, mem, n.MemoryCapacity, pods, n.MaxPods)
		}
	}
}
