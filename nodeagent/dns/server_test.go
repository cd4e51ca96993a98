package dns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/gitfleet/gitfleet/api"
)

var networks = []string{"udp", "tcp"}

// TestServeZone asks a server on loopback, over UDP and TCP, for the names of testServices.
func TestServeZone(t *testing.T) {
	s := startServer(t, Config{})
	if err := s.Sync(t.Context(), testServices()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		qname string
		qtype uint16
		rcode int
		addrs []string
		srv   int // SRV answers, each with its target's address in the additional section
	}{
		{qname: "web.default.svc.cluster.local.", qtype: dns.TypeA, addrs: []string{"10.96.0.10"}},
		{qname: "Web.Default.SVC.cluster.local.", qtype: dns.TypeA, addrs: []string{"10.96.0.10"}},
		{qname: "web.default.svc.cluster.local.", qtype: dns.TypeAAAA},
		{qname: "db.default.svc.cluster.local.", qtype: dns.TypeA, addrs: []string{"10.244.0.5", "10.244.1.6", "10.244.2.8"}},
		{qname: "db-0.db.default.svc.cluster.local.", qtype: dns.TypeA, addrs: []string{"10.244.0.5"}},
		{qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV, srv: 1},
		{qname: "_pg._tcp.db.default.svc.cluster.local.", qtype: dns.TypeSRV, srv: 2},
		{qname: "nothing.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
		{qname: "pending.default.svc.cluster.local.", qtype: dns.TypeA, rcode: dns.RcodeNameError},
	}
	for _, network := range networks {
		for _, tt := range tests {
			t.Run(network+" "+tt.qname+" "+dns.TypeToString[tt.qtype], func(t *testing.T) {
				r := exchange(t, network, s.Addr(), tt.qname, tt.qtype, 0)
				if r.Rcode != tt.rcode || !r.Authoritative || r.Truncated {
					t.Fatalf("rcode %s, aa %v, tc %v; want %s, aa, no tc", dns.RcodeToString[r.Rcode], r.Authoritative,
						r.Truncated, dns.RcodeToString[tt.rcode])
				}
				if got := addrs(r); !sameSet(got, tt.addrs) {
					t.Errorf("addresses %q, want %q", got, tt.addrs)
				}
				if len(r.Answer) == 0 && !hasSOA(r.Ns) {
					t.Errorf("negative answer without SOA: %v", r)
				}
				if tt.srv > 0 && (len(r.Answer) != tt.srv || len(r.Extra) != tt.srv) {
					t.Errorf("SRV: %d answers, %d additional; want %d each", len(r.Answer), len(r.Extra), tt.srv)
				}
			})
		}
	}
}

// TestServeTruncates answers a headless Service of 100 Pods with the TC bit over UDP, within
// the client's size, and whole over TCP.
func TestServeTruncates(t *testing.T) {
	s := startServer(t, Config{})
	if err := s.Sync(t.Context(), []api.Endpoints{headless("many", 100)}); err != nil {
		t.Fatal(err)
	}
	questions := []dns.Question{
		{Name: "many.default.svc.cluster.local.", Qtype: dns.TypeA},
		{Name: "_http._tcp.many.default.svc.cluster.local.", Qtype: dns.TypeSRV},
	}
	for _, q := range questions {
		for _, size := range []uint16{0, 1232} {
			r := exchange(t, "udp", s.Addr(), q.Name, q.Qtype, size)
			if !r.Truncated || len(r.Answer) >= 100 {
				t.Errorf("udp %s, edns %d: tc %v, %d answers; want tc and fewer than 100", q.Name, size, r.Truncated, len(r.Answer))
			}
			r.Compress = true // as sent
			if packed, err := r.Pack(); err != nil || len(packed) > max(int(size), dns.MinMsgSize) {
				t.Errorf("udp %s, edns %d: reply of %d bytes (%v)", q.Name, size, len(packed), err)
			}
		}
	}
	r := exchange(t, "tcp", s.Addr(), "many.default.svc.cluster.local.", dns.TypeA, 0)
	if r.Truncated || len(addrs(r)) != 100 {
		t.Fatalf("tcp: tc %v, %d addresses; want all 100", r.Truncated, len(addrs(r)))
	}
	r = exchange(t, "tcp", s.Addr(), "_http._tcp.many.default.svc.cluster.local.", dns.TypeSRV, 0)
	if r.Truncated || len(r.Answer) != 100 || len(r.Extra) != 100 {
		t.Fatalf("tcp SRV: tc %v, %d answers, %d additional; want 100 each", r.Truncated, len(r.Answer), len(r.Extra))
	}
}

// TestServeForwards sends other names to the host's resolvers named in resolv.conf, over the
// client's transport, past a dead one and a silent one.
func TestServeForwards(t *testing.T) {
	port := startUpstream(t, "127.0.0.1")
	silent, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.3", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("silent upstream: %v", err)
	}
	defer silent.Close()
	// 127.0.0.2 has nothing on the port: refused at once; 127.0.0.3 reads and never answers
	conf := resolvConf(t, "127.0.0.2", "127.0.0.3", "127.0.0.1")
	s := startServer(t, Config{ResolvConf: conf, UpstreamPort: port, UpstreamTimeout: defaultTestTimeout})
	for _, network := range networks {
		r := exchange(t, network, s.Addr(), "Example.COM.", dns.TypeA, 0)
		if r.Rcode != dns.RcodeSuccess || !slices.Equal(addrs(r), []string{"192.0.2.1"}) || r.Authoritative {
			t.Errorf("%s: forwarded answer %v", network, r)
		}
		r = exchange(t, network, s.Addr(), "unknown.example.com.", dns.TypeA, 0)
		if r.Rcode != dns.RcodeNameError {
			t.Errorf("%s: rcode %s, want the upstream's NXDOMAIN", network, dns.RcodeToString[r.Rcode])
		}
	}
	r := exchange(t, "udp", s.Addr(), "big.example.com.", dns.TypeTXT, 0)
	if !r.Truncated {
		t.Errorf("udp: big answer not truncated: %d records", len(r.Answer))
	}
	r = exchange(t, "tcp", s.Addr(), "big.example.com.", dns.TypeTXT, 0)
	if r.Truncated || len(r.Answer) != bigRecords {
		t.Errorf("tcp: tc %v, %d records; want %d", r.Truncated, len(r.Answer), bigRecords)
	}
}

// defaultTestTimeout bounds each upstream's try: the silent one costs it per query, and a loopback
// answer must fit in it on a loaded machine (200 ms did not once, under the full suite).
const defaultTestTimeout = time.Second

// TestServeServfail answers SERVFAIL for other names when no upstream answers, or there is none.
func TestServeServfail(t *testing.T) {
	dead := freePort(t)
	for name, cfg := range map[string]Config{
		"dead upstream":  {ResolvConf: resolvConf(t, "127.0.0.1"), UpstreamPort: dead},
		"no resolv.conf": {},
		"no nameserver":  {ResolvConf: resolvConf(t)},
	} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, cfg)
			for _, network := range networks {
				if r := exchange(t, network, s.Addr(), "example.com.", dns.TypeA, 0); r.Rcode != dns.RcodeServerFailure {
					t.Errorf("%s: rcode %s, want SERVFAIL", network, dns.RcodeToString[r.Rcode])
				}
			}
		})
	}
}

// TestSyncWhileServing swaps zones while clients ask: every answer comes whole from one of them.
func TestSyncWhileServing(t *testing.T) {
	s := startServer(t, Config{})
	zones := [][]api.Endpoints{
		{{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10"}, headless("db", 3)},
		{{Namespace: "default", Name: "web", ClusterIP: "10.96.0.11"}, headless("db", 5)},
	}
	valid := map[string]bool{"10.96.0.10": true, "10.96.0.11": true, "db 3": true, "db 5": true}
	if err := s.Sync(t.Context(), zones[0]); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Go(func() {
			for range 100 {
				if err := askValid(t, networks[i%2], s.Addr(), valid); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	syncs := 0
	for running := true; running; syncs++ {
		select {
		case <-done:
			running = false
		default:
		}
		if err := s.Sync(t.Context(), zones[syncs%2]); err != nil {
			t.Fatal(err)
		}
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// askValid asks for web and db and checks both answers are among valid: web's address, or "db N".
func askValid(t *testing.T, network, addr string, valid map[string]bool) error {
	r, err := tryExchange(t.Context(), network, addr, "web.default.svc.cluster.local.", dns.TypeA, 0)
	if err != nil {
		return err
	}
	if got := addrs(r); len(got) != 1 || !valid[got[0]] {
		return fmt.Errorf("web: %q", got)
	}
	r, err = tryExchange(t.Context(), network, addr, "db.default.svc.cluster.local.", dns.TypeA, 0)
	if err != nil {
		return err
	}
	if got := fmt.Sprintf("db %d", len(addrs(r))); !valid[got] {
		return fmt.Errorf("%s addresses", got)
	}
	return nil
}

// TestStartFreebind listens on an address the machine lacks, as on a Pod gateway whose bridge
// CNI has not made yet.
func TestStartFreebind(t *testing.T) {
	s := startServer(t, Config{Addr: "192.0.2.53:0"})
	if ap := netip.MustParseAddrPort(s.Addr()); ap.Addr() != netip.MustParseAddr("192.0.2.53") || ap.Port() == 0 {
		t.Fatalf("listening on %s", s.Addr())
	}
}

// TestClose stops serving: a client is refused, and a second Close does nothing.
func TestClose(t *testing.T) {
	s := startServer(t, Config{})
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := tryExchange(t.Context(), "tcp", s.Addr(), "web.default.svc.cluster.local.", dns.TypeA, 0); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after close: %v, want connection refused", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestReadUpstreams takes the addresses of resolv.conf, on the port, but not the server's own.
func TestReadUpstreams(t *testing.T) {
	conf := resolvConf(t, "10.0.0.1", "127.0.0.1", "fe80::1%eth0", "resolver.example.com", "::ffff:127.0.0.1")
	got, err := readUpstreams(conf, 53, netip.MustParseAddrPort("127.0.0.1:53"))
	if want := []string{"10.0.0.1:53", "[fe80::1%eth0]:53"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("upstreams %q, %v; want %q", got, err, want)
	}
	got, err = readUpstreams(conf, 5353, netip.MustParseAddrPort("127.0.0.1:53"))
	if want := []string{"10.0.0.1:5353", "127.0.0.1:5353", "[fe80::1%eth0]:5353", "[::ffff:127.0.0.1]:5353"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("upstreams on another port %q, %v; want %q", got, err, want)
	}
	if got, err := readUpstreams(filepath.Join(t.TempDir(), "missing"), 53, netip.AddrPort{}); err != nil || got != nil {
		t.Fatalf("missing resolv.conf: %q, %v; want none", got, err)
	}
}
