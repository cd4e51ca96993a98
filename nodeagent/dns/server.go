package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// Defaults of Config.
const (
	// Port is where resolvers expect a DNS server: the one port a resolv.conf cannot change.
	Port                   = 53
	DefaultResolvConf      = "/etc/resolv.conf"
	DefaultUpstreamTimeout = 2 * time.Second
	// udpSize is the UDP payload size the server advertises with EDNS0: what fits any path's
	// MTU unfragmented (the DNS flag day's 1232).
	udpSize = 1232
)

// Config configures a node's DNS server.
type Config struct {
	// Addr is the ip:port to serve on, UDP and TCP (required): the node's Pod gateway and Port;
	// the address need not exist yet.
	Addr string
	// ResolvConf names the host's resolvers, read once at start; DefaultResolvConf when empty.
	ResolvConf string
	// UpstreamPort is the port of those resolvers; Port when zero (tests run their own).
	UpstreamPort int
	// UpstreamTimeout bounds one try of one resolver; DefaultUpstreamTimeout when zero.
	UpstreamTimeout time.Duration
}

func (cfg *Config) setDefaults() {
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = DefaultResolvConf
	}
	if cfg.UpstreamPort == 0 {
		cfg.UpstreamPort = Port
	}
	if cfg.UpstreamTimeout == 0 {
		cfg.UpstreamTimeout = DefaultUpstreamTimeout
	}
}

// Server is the DNS server of one node: it answers for the cluster's Services from the zone
// of the last Sync and forwards other names to the host's resolvers.
type Server struct {
	zone atomic.Pointer[zone]
	// turn rotates the records of the answers with several.
	turn    atomic.Uint32
	fwd     forwarder
	addr    net.Addr
	servers []*dns.Server
	// ctx ends with Close, so that forwarded questions in flight end too.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	close  sync.Once
	log    *slog.Logger
}

var _ nodeagent.ServiceView = (*Server)(nil)

// Start serves, with an empty zone until the first Sync, until Close.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	cfg.setDefaults()
	addr, err := netip.ParseAddrPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("start dns server: %w", err)
	}
	pc, l, err := listen(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("start dns server: %w", err)
	}
	ups, err := readUpstreams(cfg.ResolvConf, cfg.UpstreamPort, pc.LocalAddr().(*net.UDPAddr).AddrPort())
	if err != nil {
		pc.Close()
		l.Close()
		return nil, fmt.Errorf("start dns server: %w", err)
	}
	s := &Server{fwd: forwarder{upstreams: ups, timeout: cfg.UpstreamTimeout}, addr: pc.LocalAddr(),
		log: log.With("component", "dns")}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.zone.Store(buildZone(api.ClusterDomain, nil))
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: s, UDPSize: udpSize}, {Listener: l, Handler: s}} {
		if err := s.serve(srv); err != nil {
			pc.Close()
			l.Close()
			return nil, errors.Join(fmt.Errorf("start dns server: %w", err), s.Close())
		}
	}
	if len(ups) == 0 {
		s.log.Warn("no host resolvers: names outside the cluster get SERVFAIL", "resolv_conf", cfg.ResolvConf)
	}
	s.log.Info("cluster dns serving", "addr", s.addr.String(), "domain", api.ClusterDomain, "upstreams", ups)
	return s, nil
}

// serve runs srv until Close, and returns once it listens.
func (s *Server) serve(srv *dns.Server) error {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	s.wg.Go(func() {
		err := srv.ActivateAndServe()
		select {
		case <-started:
			if err != nil && s.ctx.Err() == nil {
				s.log.Error("cluster dns stopped serving", "err", err)
			}
		default:
			failed <- err
		}
	})
	select {
	case <-started:
		s.servers = append(s.servers, srv)
		return nil
	case err := <-failed:
		return err
	}
}

// Addr is the address the server listens on, with the port it got.
func (s *Server) Addr() string { return s.addr.String() }

// Close stops serving, ends forwarded questions in flight and returns once every answer is sent;
// the server logs nothing after. Calls after the first do nothing.
func (s *Server) Close() error {
	var errs []error
	s.close.Do(func() {
		s.cancel()
		for _, srv := range s.servers {
			errs = append(errs, srv.Shutdown())
		}
		s.wg.Wait()
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop dns server: %w", err)
	}
	return nil
}

// Sync implements nodeagent.ServiceView: it builds the zone of services and swaps it in.
// Answers in progress finish with the zone they loaded. Rebuilding the whole zone is cheap next
// to the resync period (see BenchmarkBuildZone), so no change set is kept. It never fails.
func (s *Server) Sync(_ context.Context, services []api.Endpoints) error {
	z := buildZone(api.ClusterDomain, services)
	s.zone.Store(z)
	s.log.Debug("dns zone swapped", "services", len(services), "names", len(z.names))
	return nil
}

// ServeDNS implements dns.Handler.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	network := "udp"
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	m := s.reply(r, network)
	fit(m, r, network)
	if err := w.WriteMsg(m); err != nil && s.ctx.Err() == nil {
		s.log.Debug("dns reply not sent", "err", err, "client", w.RemoteAddr().String())
	}
}

// reply answers r: from the zone for the cluster's names, else from the upstreams.
func (s *Server) reply(r *dns.Msg, network string) *dns.Msg {
	if r.Opcode != dns.OpcodeQuery {
		return new(dns.Msg).SetRcode(r, dns.RcodeNotImplemented)
	}
	if len(r.Question) != 1 {
		return new(dns.Msg).SetRcode(r, dns.RcodeFormatError)
	}
	res, ok := s.zone.Load().lookup(r.Question[0], s.turn.Add(1))
	if !ok {
		return s.fwd.forward(s.ctx, r, network)
	}
	return zoneReply(r, res)
}

// zoneReply is the authoritative reply to r with res. The sections are the zone's own slices,
// shared with other answers: they are clipped, and the additional one copied, so that adding
// the OPT record, or truncating, never writes into them.
func zoneReply(r *dns.Msg, res result) *dns.Msg {
	m := new(dns.Msg).SetRcode(r, res.rcode)
	m.Authoritative, m.RecursionAvailable = true, true
	m.Answer, m.Ns = slices.Clip(res.answer), slices.Clip(res.ns)
	m.Extra = slices.Clone(res.extra)
	if r.IsEdns0() != nil {
		m.SetEdns0(udpSize, false)
	}
	return m
}

// fit truncates m, setting its TC bit, to what the client of r can take: over UDP, the size
// its EDNS0 record gives, else 512 bytes, so that it asks again over TCP.
func fit(m, r *dns.Msg, network string) {
	size := dns.MaxMsgSize
	if network == "udp" {
		size = dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
		}
	}
	m.Truncate(size)
}
