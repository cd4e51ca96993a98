package services

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/store"
)

// Store is what the controller needs of etcd; *store.Store implements it.
type Store interface {
	ListServiceState(ctx context.Context) (store.ServiceState, error)
	CommitServiceStatus(ctx context.Context, service string, status *api.ServiceStatus, rev int64, take, release store.ServiceClaims) error
	WatchServices(ctx context.Context, rev int64) <-chan store.Event
	Watch(ctx context.Context, r store.Resource, rev int64) <-chan store.Event
}

var _ Store = (*store.Store)(nil)

// Options configure the controller.
type Options struct {
	// Pool is the service CIDR's addresses; the zero Pool is DefaultPool.
	Pool Pool
}

// Controller allocates Services' virtual IPs and node ports. It is level-triggered: each pass
// reads every Service, status and ledger entry at one revision and acts on all of them; events
// only wake it. Every allocation is a compare-and-swap on the ledger, so two controllers never
// give one address twice.
type Controller struct {
	st   Store
	pool Pool
	log  *slog.Logger
}

// New returns a controller (log nil discards).
func New(st Store, log *slog.Logger, opts Options) *Controller {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !opts.Pool.cidr.IsValid() {
		opts.Pool = DefaultPool()
	}
	return &Controller{st: st, pool: opts.Pool, log: log.With("controller", "services")}
}

// Run allocates until ctx ends, then returns nil: a pass now, then after every change of
// Services, statuses or ledgers; a failed pass (a lost race included) is retried after a
// capped, jittered backoff.
func (c *Controller) Run(ctx context.Context) error {
	bo := backoff.New(50*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		rev, err := c.Reconcile(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, store.ErrNotLeader) && !errors.Is(err, store.ErrConflict) {
				c.log.Error("allocate service addresses", "err", err)
			}
			backoff.Sleep(ctx, bo.Next())
			continue
		}
		bo.Reset()
		c.wait(ctx, rev)
	}
	return nil
}

// Reconcile commits the changes Plan makes of the current state and returns its revision.
func (c *Controller) Reconcile(ctx context.Context) (int64, error) {
	st, err := c.st.ListServiceState(ctx)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, ch := range Plan(st, c.pool) {
		if err := c.st.CommitServiceStatus(ctx, ch.Service, ch.Status, ch.Rev, ch.Take, ch.Release); err != nil {
			errs = append(errs, err) // a lost race: the next pass reads the ledgers again
			continue
		}
		c.logChange(ch)
	}
	return st.Revision, errors.Join(errs...)
}

func (c *Controller) logChange(ch Change) {
	switch {
	case ch.Status == nil:
		c.log.Info("freed service addresses", "service", ch.Service, "ips", ch.Release.IPs, "node_ports", ch.Release.NodePorts)
	case ch.Status.Error != "":
		c.log.Warn("service lacks addresses", "service", ch.Service, "cluster_ip", ch.Status.ClusterIP, "err", ch.Status.Error)
	default:
		c.log.Info("allocated service addresses", "service", ch.Service, "cluster_ip", ch.Status.ClusterIP,
			"node_ports", ch.Take.NodePorts, "freed_ips", ch.Release.IPs, "freed_node_ports", ch.Release.NodePorts)
	}
}

// wait returns after the first change of Services, statuses or ledgers after rev.
func (c *Controller) wait(ctx context.Context, rev int64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chans := []<-chan store.Event{c.st.WatchServices(ctx, rev)}
	for _, r := range []store.Resource{store.ServiceStatus, store.ServiceIPs, store.NodePorts} {
		chans = append(chans, c.st.Watch(ctx, r, rev))
	}
	store.WaitAny(ctx, chans...)
}
