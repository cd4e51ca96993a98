package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/gitfleet/gitfleet/api"
)

// Config configures a Proxy.
type Config struct {
	// ServiceCIDR is the range of cluster IPs (required): the host routes it to the proxy's
	// link so that its own connections to a cluster IP reach the output hook.
	ServiceCIDR string
	// Bridge is the Pods' bridge of this node (required): what comes in through it is from a
	// local Pod and keeps its source address.
	Bridge string
	// VerifyEvery is how often a Sync that changes nothing reads the table and the route back
	// from the kernel, to repair what was changed by hand; DefaultVerifyEvery when zero.
	VerifyEvery time.Duration
	// Now is the proxy's clock; time.Now when nil.
	Now func() time.Time
}

// DefaultVerifyEvery is the agent's resync period: reading back a table of 1,000 Services
// costs about 0.4 s, too much for every Sync that changes nothing (a Pod that is not ready
// yet changes its Service's record, not the rules).
const DefaultVerifyEvery = 30 * time.Second

// Proxy programs the Services into the kernel of the node it runs on (its current network
// namespace). It implements the node agent's ServiceView; Sync is not safe for concurrent use.
type Proxy struct {
	cidr    netip.Prefix
	builder *builder
	log     *slog.Logger
	nl      *netlink.Handle
	// live is what the table holds: read from the kernel (see Sync), else what the last Sync
	// programmed; nil when unknown.
	live *state
	// verified is when the table and the route were last read back from the kernel.
	verified    time.Time
	verifyEvery time.Duration
	now         func() time.Time
}

// New checks cfg; the first Sync reads what the table already holds.
func New(cfg Config, log *slog.Logger) (*Proxy, error) {
	cidr, err := netip.ParsePrefix(cfg.ServiceCIDR)
	if err != nil || !cidr.Addr().Is4() {
		return nil, fmt.Errorf("new service proxy: service CIDR %q is not an IPv4 CIDR", cfg.ServiceCIDR)
	}
	if cfg.Bridge == "" {
		return nil, errors.New("new service proxy: no bridge")
	}
	nl, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("new service proxy: open netlink: %w", err)
	}
	if cfg.VerifyEvery <= 0 {
		cfg.VerifyEvery = DefaultVerifyEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Proxy{cidr: cidr.Masked(), builder: newBuilder(cfg.Bridge, cidr.Masked()), log: log, nl: nl,
		verifyEvery: cfg.VerifyEvery, now: cfg.Now}, nil
}

// Close releases the proxy's netlink socket. The table, the link and the route stay: the
// Services keep working while the agent restarts, and the next proxy takes them over.
func (p *Proxy) Close() error {
	p.nl.Close()
	return nil
}

// Sync makes the table serve exactly services, changing only what differs from what it holds.
// It is idempotent. It reads the table (and ensures the route) from the kernel when it has not
// yet, after a failure, and when nothing changed and VerifyEvery passed since the last read
// (the agent's periodic resync): so a rule deleted by hand comes back, while a Sync after a
// change, or one that changes nothing in between, costs no read.
func (p *Proxy) Sync(ctx context.Context, services []api.Endpoints) error {
	want := p.builder.build(services)
	var changes []change
	if p.live != nil {
		changes = diff(p.live, want)
	}
	if p.live == nil || len(changes) == 0 && p.now().Sub(p.verified) >= p.verifyEvery {
		if err := p.verify(); err != nil {
			return fmt.Errorf("sync services: %w", err)
		}
		changes = diff(p.live, want)
	}
	if len(changes) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	a := &applier{table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}, want: want}
	if err := a.apply(changes); err != nil {
		p.live = nil
		return fmt.Errorf("sync services: %w", err)
	}
	p.live = want.state()
	p.logChanges(changes)
	return nil
}

// verify ensures the host's route to the service CIDR and reads what the table holds.
func (p *Proxy) verify() error {
	if err := ensureServiceRoute(p.nl, p.cidr); err != nil {
		return err
	}
	if err := p.read(); err != nil {
		return err
	}
	p.verified = p.now()
	return nil
}

// read takes what the table holds from the kernel.
func (p *Proxy) read() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("open nftables: %w", err)
	}
	live, err := readState(c)
	if err != nil {
		return err
	}
	p.live = live
	return nil
}

// logChanges logs a summary, and each change at debug level.
func (p *Proxy) logChanges(changes []change) {
	counts := map[action]int{}
	for _, c := range changes {
		counts[c.action]++
		p.log.Debug("service proxy change", "change", c.String())
	}
	p.log.Info("services programmed", "table", TableName, "changes", len(changes),
		"chains_written", counts[actionWriteChain], "chains_deleted", counts[actionDeleteChain],
		"elements_added", counts[actionAddElement]+counts[actionReplaceElement], "elements_deleted", counts[actionDeleteElement])
}
