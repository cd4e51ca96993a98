package scheduler

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
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

// Schedule picks the node for pod among nodes: it drops the nodes a filter of p rejects, scores
// the rest with p's weighted scores and returns the best. Ties go to the first of the feasible
// nodes shuffled by a seed taken from the Pod's namespace and name, so the same state always
// gives the same answer whatever the order of nodes. It reads its arguments only. The error is a
// *FitError, so test it against nil before storing it in an error variable.
func Schedule(pod *api.Pod, nodes []*NodeInfo, p Profile) (string, *FitError) {
	if len(nodes) == 0 {
		return "", &FitError{Pod: podName(pod)}
	}
	feasible, diagnosis := filterNodes(pod, nodes, p.Filters)
	if len(feasible) == 0 {
		return "", &FitError{Pod: podName(pod), NumAllNodes: len(nodes), Diagnosis: diagnosis}
	}
	shuffleNodes(pod, feasible)
	return bestNode(pod, feasible, p.Scores).Name(), nil
}

// filterNodes splits nodes into those that pass every filter and the Status of the others.
func filterNodes(pod *api.Pod, nodes []*NodeInfo, filters []FilterPlugin) ([]*NodeInfo, map[string]*Status) {
	feasible := make([]*NodeInfo, 0, len(nodes))
	diagnosis := map[string]*Status{}
	for _, n := range nodes {
		if st := runFilters(pod, n, filters); st != nil {
			diagnosis[n.Name()] = st
			continue
		}
		feasible = append(feasible, n)
	}
	return feasible, diagnosis
}

// runFilters returns the Status of the first filter that rejects n, or nil.
func runFilters(pod *api.Pod, n *NodeInfo, filters []FilterPlugin) *Status {
	for _, f := range filters {
		if st := f.Filter(pod, n); st != nil {
			st.Plugin = f.Name()
			return st
		}
	}
	return nil
}

// shuffleNodes orders nodes by name, then shuffles them with a seed from the Pod's name.
func shuffleNodes(pod *api.Pod, nodes []*NodeInfo) {
	slices.SortFunc(nodes, func(a, b *NodeInfo) int { return strings.Compare(a.Name(), b.Name()) })
	h := fnv.New64a()
	h.Write([]byte(podName(pod)))
	r := rand.New(rand.NewPCG(h.Sum64(), 0))
	r.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
}

// bestNode returns the first node with the highest weighted score.
func bestNode(pod *api.Pod, nodes []*NodeInfo, scores []WeightedScore) *NodeInfo {
	best, bestScore := nodes[0], totalScore(pod, nodes[0], nodes, scores)
	for _, n := range nodes[1:] {
		if s := totalScore(pod, n, nodes, scores); s > bestScore {
			best, bestScore = n, s
		}
	}
	return best
}

// totalScore sums the weighted scores of n, each clamped to [MinNodeScore, MaxNodeScore].
func totalScore(pod *api.Pod, n *NodeInfo, all []*NodeInfo, scores []WeightedScore) int64 {
	var total int64
	for _, ws := range scores {
		s := min(max(ws.Plugin.Score(pod, n, all), MinNodeScore), MaxNodeScore)
		total += ws.Weight * s
	}
	return total
}

// podName is "namespace/name".
func podName(pod *api.Pod) string { return pod.Metadata.Namespace + "/" + pod.Metadata.Name }
