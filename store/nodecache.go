package store

import (
	"context"
	"slices"
	"sync"

	"github.com/gitfleet/gitfleet/api"
)

// NodeCache keeps the three resources a node is read from (its registration, its spec and its
// heartbeat), so that List returns what ListNodes would, without asking etcd.
type NodeCache struct {
	nodes  *Cache[api.Node]
	specs  *Cache[api.NodeSpec]
	leases *Cache[struct{}]
}

// NewNodeCache returns the caches of the nodes of src; they are empty until Run lists.
func NewNodeCache(src CacheSource, opts CacheOptions) *NodeCache {
	// A heartbeat is live while its key exists, whatever its value.
	anyValue := func(string, []byte) (struct{}, error) { return struct{}{}, nil }
	return &NodeCache{nodes: NewCache(src, Nodes, DecodeJSON[api.Node], opts),
		specs: NewCache(src, NodeSpecs, DecodeJSON[api.NodeSpec], opts), leases: NewCache(src, NodeLeases, anyValue, opts)}
}

// Changed reports whether any of the three caches changed since the last call, when opts had
// TrackChanges: nodes change rarely, so a reader may merge them all again on any change.
func (n *NodeCache) Changed() bool {
	changed := false
	for _, take := range []func() ([]string, bool){n.nodes.TakeChanges, n.specs.TakeChanges, n.leases.TakeChanges} {
		names, all := take()
		changed = changed || all || len(names) > 0
	}
	return changed
}

// Run runs the three caches until ctx ends, calling onChange as Cache.Run does.
func (n *NodeCache) Run(ctx context.Context, onChange func()) {
	var wg sync.WaitGroup
	wg.Go(func() { n.nodes.Run(ctx, onChange) })
	wg.Go(func() { n.specs.Run(ctx, onChange) })
	wg.Go(func() { n.leases.Run(ctx, onChange) })
	wg.Wait()
}

// WaitSynced waits for the first list of the three caches; it fails only when ctx ends first.
func (n *NodeCache) WaitSynced(ctx context.Context) error {
	for _, wait := range []func(context.Context) error{n.nodes.WaitSynced, n.specs.WaitSynced, n.leases.WaitSynced} {
		if err := wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// List returns every registered node in name order, merged with its spec and heartbeat as
// ListNodes does. The nodes are read-only (see Cache), but for the merged fields.
func (n *NodeCache) List() []Item[api.Node] {
	return MergeNodes(n.nodes.List(), n.specs.List(), n.leases.List())
}

// MergeNodes completes each node with its spec and whether a heartbeat of its name is in leases
// (see MergeNode). It changes nothing it is given: a node's conditions are copied before the
// merge may rewrite one.
func MergeNodes[L any](nodes []Item[api.Node], specs []Item[api.NodeSpec], leases []Item[L]) []Item[api.Node] {
	spec := make(map[string]api.NodeSpec, len(specs))
	for _, it := range specs {
		spec[it.Name] = it.Value
	}
	live := make(map[string]bool, len(leases))
	for _, it := range leases {
		live[it.Name] = true
	}
	out := make([]Item[api.Node], 0, len(nodes))
	for _, it := range nodes {
		it.Value.Status.Conditions = slices.Clone(it.Value.Status.Conditions)
		MergeNode(&it.Value, spec[it.Name], live[it.Name])
		out = append(out, it)
	}
	return out
}
