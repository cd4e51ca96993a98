package scheduler

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/gitfleet/gitfleet/api"
)

// FitError says why a Pod fits on no node.
type FitError struct {
	// Pod is "namespace/name".
	Pod string
	// NumAllNodes is the number of nodes Schedule considered.
	NumAllNodes int
	// Diagnosis holds, per node name, the Status of the filter that rejected the node.
	Diagnosis map[string]*Status
}

// Error renders kube-scheduler's message: the count of nodes per reason, sorted as strings, as in
// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node selector."
func (e *FitError) Error() string {
	if e.NumAllNodes == 0 {
		return "0/0 nodes are available: no nodes registered"
	}
	counts := map[string]int{}
	for _, st := range e.Diagnosis {
		for _, r := range st.Reasons {
			counts[r]++
		}
	}
	parts := make([]string, 0, len(counts))
	for r, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, r))
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", e.NumAllNodes, strings.Join(parts, ", "))
}

// Placement is where a Pod goes and how much of the cluster deciding it took.
type Placement struct {
	Node string
	// Examined counts the nodes filtered; Feasible those of them that passed and were scored.
	Examined, Feasible int
}

// Schedule picks the node for pod among all nodes: it drops the nodes a filter of p rejects,
// scores the rest with p's weighted scores and returns the best. Equal scores go to the node
// that tieBreak ranks first for the Pod, so the same state always gives the same answer whatever
// the order of nodes. It reads its arguments only. The error is a *FitError, so test it against
// nil before storing it in an error variable.
func Schedule(pod *api.Pod, nodes []*NodeInfo, p Profile) (string, *FitError) {
	pi := NewPodInfo(pod)
	naiveSpread(pi, nodes)
	pl, err := schedule(pi, nodes, p, len(nodes), 0)
	return pl.Node, err
}

// schedule is Schedule on a sample: it filters nodes from index start on, wrapping around, until
// want of them passed (or it examined them all), and scores only those. When none passes it has
// examined every node, so the FitError counts every reason.
func schedule(pod *PodInfo, nodes []*NodeInfo, p Profile, want, start int) (Placement, *FitError) {
	if len(nodes) == 0 {
		return Placement{}, &FitError{Pod: pod.Name}
	}
	feasible := make([]*NodeInfo, 0, min(want, len(nodes)))
	examined := 0
	for ; examined < len(nodes) && len(feasible) < want; examined++ {
		n := nodes[(start+examined)%len(nodes)]
		if runFilters(pod, n, p.Filters) == nil {
			feasible = append(feasible, n)
		}
	}
	if len(feasible) == 0 {
		return Placement{Examined: examined}, &FitError{Pod: pod.Name, NumAllNodes: len(nodes), Diagnosis: diagnose(pod, nodes, p.Filters)}
	}
	best := bestNode(pod, feasible, p.Scores)
	return Placement{Node: best.Name(), Examined: examined, Feasible: len(feasible)}, nil
}

// diagnose returns the Status of every node a filter rejects. It runs only when a Pod fits
// nowhere, so that the common path allocates no map.
func diagnose(pod *PodInfo, nodes []*NodeInfo, filters []FilterPlugin) map[string]*Status {
	out := map[string]*Status{}
	for _, n := range nodes {
		if st := runFilters(pod, n, filters); st != nil {
			out[n.Name()] = st
		}
	}
	return out
}

// runFilters returns the Status of the first filter that rejects n, or nil.
func runFilters(pod *PodInfo, n *NodeInfo, filters []FilterPlugin) *Status {
	for _, f := range filters {
		if st := f.Filter(pod, n); st != nil {
			st.Plugin = f.Name()
			return st
		}
	}
	return nil
}

// bestNode returns the node with the highest weighted score, ties broken by tieBreak.
func bestNode(pod *PodInfo, nodes []*NodeInfo, scores []WeightedScore) *NodeInfo {
	totals := make([]int64, len(nodes))
	raw := make([]int64, len(nodes))
	for _, ws := range scores {
		for i, n := range nodes {
			raw[i] = ws.Plugin.Score(pod, n)
		}
		if norm, ok := ws.Plugin.(ScoreNormalizer); ok {
			norm.NormalizeScores(pod, raw)
		}
		for i, s := range raw {
			totals[i] += ws.Weight * min(max(s, MinNodeScore), MaxNodeScore)
		}
	}
	seed := podHash(pod.Name)
	best := 0
	for i := 1; i < len(nodes); i++ {
		if totals[i] > totals[best] || totals[i] == totals[best] && tieBreak(seed, nodes[i]) < tieBreak(seed, nodes[best]) {
			best = i
		}
	}
	return nodes[best]
}

// podHash seeds the tie-break of a Pod from its name, so that an incident replays.
func podHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// tieBreak ranks n for the Pod of seed: a hash of both names (splitmix64's finalizer), so that
// equal nodes are taken in an order that differs from Pod to Pod but not from run to run, and
// costs O(1) a node where shuffling the feasible nodes cost a sort.
func tieBreak(seed uint64, n *NodeInfo) uint64 {
	z := seed ^ n.hash
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// podName is "namespace/name".
func podName(pod *api.Pod) string { return pod.Metadata.Namespace + "/" + pod.Metadata.Name }
