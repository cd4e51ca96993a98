package dashboard

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/health"
	"github.com/gitfleet/gitfleet/store"
)

// This file turns what the watches hold into what the page shows: State, the JSON of
// GET /api/state and of every server-sent event. It is pure: the caller passes the clock.

// State is everything the page shows but the user's own role.
type State struct {
	// Time is the server's RFC 3339 time of the snapshot: the page counts ages from it.
	Time       string          `json:"time"`
	Source     SourceView      `json:"source"`
	Namespaces []NamespaceView `json:"namespaces"`
	// History is every sync attempt kept, newest first.
	History     []api.HistoryEntry `json:"history"`
	Nodes       []NodeView         `json:"nodes"`
	NodesStatus *api.NodesStatus   `json:"nodesStatus,omitempty"`
	// Events are the newest events recorded (at most maxEvents), newest first.
	Events []api.Event `json:"events"`
}

// SourceView is the git source: the controller's sync status with what the page adds to it.
type SourceView struct {
	api.SyncStatus
	// Repo is the repository followed, without credentials.
	Repo string `json:"repo"`
	// Seen describes SeenCommit when a sync attempt recorded it (Commit describes AppliedCommit).
	Seen api.CommitInfo `json:"seen"`
	// Pin is the rollback's pin; nil when the source follows its branch.
	Pin *api.Pin `json:"pin,omitempty"`
	// Health is the workload controller's aggregate; HealthCommit the commit it judged.
	Health       string        `json:"health"`
	HealthCommit string        `json:"healthCommit,omitempty"`
	Pods         api.PodCounts `json:"pods"`
}

// NamespaceView is one namespace of the tree: its objects, and Pods no desired object owns (a
// Pod left from a deleted Deployment, say).
type NamespaceView struct {
	Name    string       `json:"name"`
	Health  string       `json:"health"`
	Objects []ObjectView `json:"objects"`
	Pods    []PodView    `json:"pods,omitempty"`
}

// ObjectView is one desired object with its recorded health, and the Pods it owns.
type ObjectView struct {
	api.ObjectStatus
	// ClusterIP and NodePorts are a Service's allocation.
	ClusterIP string    `json:"clusterIP,omitempty"`
	NodePorts []int32   `json:"nodePorts,omitempty"`
	Pods      []PodView `json:"pods,omitempty"`
	// Warning is the reason of the object's newest event, when that is a Warning.
	Warning string `json:"warning,omitempty"`
}

// PodView is one Pod as `get pods -o wide` shows it, with its age.
type PodView struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Node      string `json:"node,omitempty"`
	IP        string `json:"ip,omitempty"`
	Phase     string `json:"phase"`
	Ready     bool   `json:"ready"`
	Restarts  int32  `json:"restarts"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
	// Since is the RFC 3339 time the dashboard first saw the Pod; SinceStart says the Pod was
	// there when the dashboard started, so it is at least that old.
	Since      string `json:"since"`
	SinceStart bool   `json:"sinceStart,omitempty"`
	// Warning is the reason of the Pod's newest event, when that is a Warning.
	Warning string `json:"warning,omitempty"`
}

// NodeView is one node: readiness, capacity, what its Pods request, and its Pods.
type NodeView struct {
	Name          string              `json:"name"`
	Ready         bool                `json:"ready"`
	Unschedulable bool                `json:"unschedulable,omitempty"`
	IP            string              `json:"ip,omitempty"`
	PodCIDR       string              `json:"podCIDR,omitempty"`
	Conditions    []api.NodeCondition `json:"conditions,omitempty"`
	Heartbeat     string              `json:"heartbeat,omitempty"`
	Capacity      api.ResourceList    `json:"capacity,omitempty"`
	// Allocatable* are what Pods may use, Requested* what the Pods bound to it request.
	AllocatableCPUMilli int64    `json:"allocatableCPUMilli"`
	AllocatableMemory   int64    `json:"allocatableMemory"`
	RequestedCPUMilli   int64    `json:"requestedCPUMilli"`
	RequestedMemory     int64    `json:"requestedMemory"`
	MaxPods             int64    `json:"maxPods,omitempty"`
	Pods                []string `json:"pods"`
}

// inputs are the watched resources a State is built from, as the caches list them.
type inputs struct {
	source, repo string
	syncs        []store.Item[api.SyncStatus]
	health       []store.Item[api.HealthStatus]
	history      []store.Item[api.HistoryEntry]
	pins         []store.Item[api.Pin]
	pods         []store.Item[api.Pod]
	statuses     []store.Item[api.PodStatus]
	nodes        []store.Item[api.Node]
	nodesStatus  []store.Item[api.NodesStatus]
	services     []store.Item[api.ServiceStatus]
	events       []store.Item[api.Event]
	// since says when the dashboard first saw a Pod, and whether that was at its start.
	since func(store.Item[api.Pod]) (time.Time, bool)
}

// buildState is the page's State from in at now.
func buildState(in inputs, now time.Time) State {
	hist := historyOf(in.history, in.source)
	pods := store.MergeStatuses(in.pods, store.BoundStatuses(in.pods, in.statuses), store.ReadyNodes(in.nodes))
	events, warnings := eventViews(in.events)
	views := podViews(in.pods, pods, in.since, warnings)
	st := State{
		Time:       now.UTC().Format(time.RFC3339Nano),
		Source:     sourceView(in, hist),
		Namespaces: tree(in, pods, views, warnings),
		History:    hist,
		Nodes:      nodeViews(in.nodes, pods),
		Events:     events,
	}
	if ns, ok := item(in.nodesStatus, "all"); ok {
		st.NodesStatus = &ns
	}
	return st
}

// item is the value named name among items.
func item[T any](items []store.Item[T], name string) (T, bool) {
	for _, it := range items {
		if it.Name == name {
			return it.Value, true
		}
	}
	var zero T
	return zero, false
}

// historyOf is source's history, newest first.
func historyOf(items []store.Item[api.HistoryEntry], source string) []api.HistoryEntry {
	out := []api.HistoryEntry{}
	for _, it := range items {
		if it.Value.Source == source || strings.HasPrefix(it.Name, source+"/") {
			out = append(out, it.Value)
		}
	}
	slices.SortFunc(out, func(a, b api.HistoryEntry) int { return cmp.Compare(b.ID, a.ID) })
	return out
}

// sourceView is the source's status, the commit seen, the pin and the aggregate health.
func sourceView(in inputs, hist []api.HistoryEntry) SourceView {
	st, ok := item(in.syncs, in.source)
	if !ok {
		st = api.SyncStatus{Source: in.source, Sync: api.SyncOutOfSync, Message: "no sync yet"}
	}
	if st.Errors == nil {
		st.Errors = []api.FieldError{}
	}
	v := SourceView{SyncStatus: st, Repo: in.repo, Health: api.HealthMissing}
	for _, e := range hist {
		if e.Commit.Hash == st.SeenCommit && st.SeenCommit != "" {
			v.Seen = e.Commit
			break
		}
	}
	if pin, ok := item(in.pins, in.source); ok {
		v.Pin = &pin
	}
	if h, ok := item(in.health, in.source); ok {
		v.Health, v.HealthCommit, v.Pods = h.Health, h.AppliedCommit, h.Pods
	}
	return v
}

// podViews turns the merged Pods into rows, keyed by namespace/name.
func podViews(items []store.Item[api.Pod], merged []api.Pod, since func(store.Item[api.Pod]) (time.Time, bool), warnings map[api.Key]string) map[api.PodKey]PodView {
	out := make(map[api.PodKey]PodView, len(merged))
	for i, p := range merged {
		v := PodView{Namespace: p.Metadata.Namespace, Name: p.Metadata.Name, Node: p.Spec.NodeName, IP: p.Status.PodIP, Phase: p.Status.Phase,
			Ready: p.Status.Ready, Restarts: p.Status.Restarts, Reason: p.Status.Reason, Message: p.Status.Message,
			Warning: warnings[api.Key{Kind: api.KindPod, Namespace: p.Metadata.Namespace, Name: p.Metadata.Name}]}
		if since != nil {
			t, atStart := since(items[i])
			v.Since, v.SinceStart = t.UTC().Format(time.RFC3339), atStart
		}
		out[api.PodKeyOf(&p)] = v
	}
	return out
}

// tree groups the recorded objects by namespace, each with the Pods it owns; cluster-scoped
// objects (Namespaces) head their own namespace.
func tree(in inputs, pods []api.Pod, views map[api.PodKey]PodView, warnings map[api.Key]string) []NamespaceView {
	h, _ := item(in.health, in.source)
	byNS := map[string]*NamespaceView{}
	ns := func(name string) *NamespaceView {
		if byNS[name] == nil {
			byNS[name] = &NamespaceView{Name: name, Health: api.HealthHealthy, Objects: []ObjectView{}}
		}
		return byNS[name]
	}
	owned := ownedPods(pods, views)
	for _, o := range h.Objects {
		v := ObjectView{ObjectStatus: o, Pods: owned[o.Key.String()], Warning: warnings[o.Key]}
		delete(owned, o.Key.String())
		addService(&v, in.services)
		name := o.Key.Namespace
		if o.Key.Kind == api.KindNamespace {
			name = o.Key.Name
		}
		n := ns(name)
		n.Objects = append(n.Objects, v)
		if health.Worse(o.Health, n.Health) {
			n.Health = o.Health
		}
	}
	for _, loose := range owned {
		for _, p := range loose {
			n := ns(cmp.Or(p.Namespace, api.DefaultNamespace))
			n.Pods = append(n.Pods, p)
		}
	}
	return sortedNamespaces(byNS)
}

// ownedPods groups the Pod rows by their owner's key (api.AnnotationOwner), each group in name
// order; a Pod without an owner groups under "/" and its namespace.
func ownedPods(pods []api.Pod, views map[api.PodKey]PodView) map[string][]PodView {
	out := map[string][]PodView{}
	for _, p := range pods {
		owner := p.Metadata.Annotations[api.AnnotationOwner]
		if owner == "" {
			owner = "/" + p.Metadata.Namespace // loose, in its namespace
		}
		out[owner] = append(out[owner], views[api.PodKeyOf(&p)])
	}
	for _, g := range out {
		slices.SortFunc(g, func(a, b PodView) int { return strings.Compare(a.Name, b.Name) })
	}
	return out
}

// addService completes a Service's row with its allocation.
func addService(v *ObjectView, services []store.Item[api.ServiceStatus]) {
	if v.Key.Kind != api.KindService {
		return
	}
	s, ok := item(services, v.Key.Namespace+"/"+v.Key.Name)
	if !ok {
		return
	}
	v.ClusterIP = s.ClusterIP
	for _, np := range s.NodePorts {
		v.NodePorts = append(v.NodePorts, np.NodePort)
	}
}

// sortedNamespaces lists byNS in name order, each namespace's objects in apply order then key.
func sortedNamespaces(byNS map[string]*NamespaceView) []NamespaceView {
	out := make([]NamespaceView, 0, len(byNS))
	for _, n := range byNS {
		slices.SortFunc(n.Objects, func(a, b ObjectView) int {
			return cmp.Or(cmp.Compare(api.ApplyRank(a.Key.Kind), api.ApplyRank(b.Key.Kind)), strings.Compare(a.Key.String(), b.Key.String()))
		})
		slices.SortFunc(n.Pods, func(a, b PodView) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b NamespaceView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// nodeViews are the nodes in name order with what their Pods request.
func nodeViews(nodes []store.Item[api.Node], pods []api.Pod) []NodeView {
	out := make([]NodeView, 0, len(nodes))
	index := map[string]int{}
	for _, it := range nodes {
		n := it.Value
		alloc := n.Status.Allocatable
		if len(alloc) == 0 {
			alloc = n.Status.Capacity
		}
		maxPods, _ := strconv.ParseInt(n.Status.Capacity[api.ResourcePods], 10, 64)
		index[n.Metadata.Name] = len(out)
		out = append(out, NodeView{Name: n.Metadata.Name, Ready: n.Status.Ready, Unschedulable: n.Spec.Unschedulable,
			IP: n.Status.InternalIP(), PodCIDR: n.Spec.PodCIDR, Conditions: n.Status.Conditions, Heartbeat: n.Status.Heartbeat,
			Capacity: n.Status.Capacity, AllocatableCPUMilli: alloc.CPUMilli(), AllocatableMemory: alloc.MemoryBytes(),
			MaxPods: maxPods, Pods: []string{}})
	}
	for _, p := range pods {
		i, ok := index[p.Spec.NodeName]
		if !ok {
			continue
		}
		cpu, mem := api.PodRequests(&p.Spec)
		out[i].RequestedCPUMilli += cpu
		out[i].RequestedMemory += mem
		out[i].Pods = append(out[i].Pods, p.Metadata.Namespace+"/"+p.Metadata.Name)
	}
	slices.SortFunc(out, func(a, b NodeView) int { return strings.Compare(a.Name, b.Name) })
	for i := range out {
		slices.Sort(out[i].Pods)
	}
	return out
}
