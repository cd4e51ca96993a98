package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/store"
)

// Store is what the controller needs of etcd; *store.Store implements it.
type Store interface {
	ListNodes(ctx context.Context) ([]store.Item[api.Node], int64, error)
	ListPodCIDRs(ctx context.Context) (map[string]string, int64, error)
	GetNodeSpec(ctx context.Context, node string) (api.NodeSpec, int64, error)
	AssignPodCIDR(ctx context.Context, node, cidr string, spec api.NodeSpec, specRev int64) error
	ReleasePodCIDR(ctx context.Context, cidr, node string) error
	Watch(ctx context.Context, r store.Resource, rev int64) <-chan store.Event
}

var _ Store = (*store.Store)(nil)

// Defaults of the Pod network.
const (
	DefaultClusterCIDR = "10.244.0.0/16"
	DefaultNodeBits    = 24
)

// Controller assigns Pod ranges. It is level-triggered: each pass lists nodes and the ledger
// and acts on all of them; node events only wake it. Assignments are compare-and-swap writes,
// so two controllers never give one range twice.
type Controller struct {
	st     Store
	ranges Ranges
	log    *slog.Logger
}

// New returns a controller of ranges (log nil discards).
func New(st Store, ranges Ranges, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{st: st, ranges: ranges, log: log.With("controller", "nodeipam")}
}

// Run assigns ranges until ctx ends, then returns nil: a pass now, then after every change of
// nodes or the ledger; a failed pass is retried after a capped, jittered backoff.
func (c *Controller) Run(ctx context.Context) error {
	bo := backoff.New(100*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		rev, err := c.Reconcile(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, store.ErrNotLeader) { // a lost term ends the loop
				c.log.Error("assign pod ranges", "err", err)
			}
			backoff.Sleep(ctx, bo.Next())
			continue
		}
		bo.Reset()
		c.wait(ctx, rev)
	}
	return nil
}

// wait returns after the first change of nodes, node specs or the ledger after rev.
func (c *Controller) wait(ctx context.Context, rev int64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var chans []<-chan store.Event
	for _, r := range []store.Resource{store.Nodes, store.NodeSpecs, store.PodCIDRs} {
		chans = append(chans, c.st.Watch(ctx, r, rev))
	}
	store.WaitAny(ctx, chans...)
}

// Reconcile gives each registered node without a range the first free one, and releases the
// ranges of nodes that are gone. It returns the revision of the node list.
func (c *Controller) Reconcile(ctx context.Context) (int64, error) {
	// The ledger first: a node is registered before it is assigned a range, so every holder
	// still registered is in the node list read after, and no live node's range is released.
	taken, _, err := c.st.ListPodCIDRs(ctx)
	if err != nil {
		return 0, err
	}
	nodes, rev, err := c.st.ListNodes(ctx)
	if err != nil {
		return 0, err
	}
	registered := map[string]bool{}
	var errs []error
	for _, n := range nodes {
		name := n.Value.Metadata.Name
		registered[name] = true
		if n.Value.Spec.PodCIDR != "" {
			continue
		}
		cidr, err := c.assign(ctx, name, taken)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		taken[cidr] = name
	}
	for _, cidr := range slices.Sorted(maps.Keys(taken)) {
		if node := taken[cidr]; !registered[node] {
			if err := c.st.ReleasePodCIDR(ctx, cidr, node); err != nil {
				errs = append(errs, err)
				continue
			}
			c.log.Info("released pod range", "node", node, "pod_cidr", cidr)
		}
	}
	return rev, errors.Join(errs...)
}

// assign writes the first free range as node's, unless a range was assigned meanwhile.
func (c *Controller) assign(ctx context.Context, node string, taken map[string]string) (string, error) {
	spec, specRev, err := c.st.GetNodeSpec(ctx, node)
	if err != nil {
		return "", err
	}
	if spec.PodCIDR != "" {
		return spec.PodCIDR, nil
	}
	cidr, err := c.ranges.FirstFree(taken)
	if err != nil {
		return "", fmt.Errorf("assign a pod range to node %s: %w", node, err)
	}
	if err := c.st.AssignPodCIDR(ctx, node, cidr, spec, specRev); err != nil {
		return "", err // a lost race: the next pass reads the ledger again
	}
	c.log.Info("assigned pod range", "node", node, "pod_cidr", cidr)
	return cidr, nil
}
