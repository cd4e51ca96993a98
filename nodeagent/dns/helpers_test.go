package dns

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/gitfleet/gitfleet/api"
)

// startServer starts a server on a free port of 127.0.0.1, with cfg's other settings, and
// closes it when the test ends. Without ResolvConf, it has no upstream.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.ResolvConf == "" {
		cfg.ResolvConf = filepath.Join(t.TempDir(), "missing")
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := Start(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// resolvConf writes a resolv.conf naming servers and returns its path.
func resolvConf(t testing.TB, servers ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# written by the test\nsearch example.org\noptions ndots:1\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// bigRecords is how many TXT records the upstream gives big.example.com: more than fit in 512
// bytes.
const bigRecords = 60

// startUpstream runs the "host's resolver" on ip at a free port, UDP and TCP, until the test
// ends, and returns the port. It answers example.com. with 192.0.2.1, big.example.com. with
// bigRecords TXT records (truncated on UDP as any server would), and NXDOMAIN for the rest.
func startUpstream(t testing.TB, ip string) int {
	t.Helper()
	pc, l, err := listen(t.Context(), netip.AddrPortFrom(netip.MustParseAddr(ip), 0))
	if err != nil {
		t.Fatalf("upstream: %v", err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		switch dns.CanonicalName(r.Question[0].Name) {
		case "example.com.":
			m.Answer = append(m.Answer, mustRR(t, "example.com. 60 IN A 192.0.2.1"))
		case "big.example.com.":
			for i := range bigRecords {
				m.Answer = append(m.Answer, mustRR(t, fmt.Sprintf("big.example.com. 60 IN TXT \"record %d\"", i)))
			}
		default:
			m.Rcode = dns.RcodeNameError
		}
		network := "udp"
		if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
			network = "tcp"
		}
		fit(m, r, network)
		w.WriteMsg(m)
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: l, Handler: handler}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() {
			srv.Shutdown()
			<-done
		})
	}
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func mustRR(t testing.TB, s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("record %q: %v", s, err)
	}
	return rr
}

// exchange asks addr over network ("udp" or "tcp") for name of type qtype, with an EDNS0 record
// offering ednsSize bytes unless it is 0, and fails the test when no answer comes.
func exchange(t testing.TB, network, addr, name string, qtype uint16, ednsSize uint16) *dns.Msg {
	t.Helper()
	r, err := tryExchange(t.Context(), network, addr, name, qtype, ednsSize)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return r
}

func tryExchange(ctx context.Context, network, addr, name string, qtype uint16, ednsSize uint16) (*dns.Msg, error) {
	m := new(dns.Msg).SetQuestion(name, qtype)
	if ednsSize != 0 {
		m.SetEdns0(ednsSize, false)
	}
	c := dns.Client{Net: network, Timeout: 10 * time.Second}
	if ednsSize == 0 {
		// read whatever comes, so that a reply too big for 512 bytes shows rather than
		// failing to unpack
		c.UDPSize = dns.MaxMsgSize
	}
	r, _, err := c.ExchangeContext(ctx, m, addr)
	return r, err
}

// addrs are the A records of an answer, in order.
func addrs(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out
}

// headless is a headless Service default/NAME of n ready Pods, pod-0, pod-1 ..., each at an
// address of its own, with one named port.
func headless(name string, n int) api.Endpoints {
	e := api.Endpoints{Namespace: "default", Name: name, ClusterIP: api.ClusterIPNone,
		Ports: []api.EndpointsPort{{Name: "http", Protocol: api.ProtocolTCP, Port: 80}}}
	for i := range n {
		e.Endpoints = append(e.Endpoints, api.Endpoint{IP: fmt.Sprintf("10.244.%d.%d", (i+1)/250, (i+1)%250+1),
			Pod: fmt.Sprintf("pod-%d", i), Ready: true, Ports: []int32{80}})
	}
	return e
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP when it returns.
func freePort(t testing.TB) int {
	t.Helper()
	pc, l, err := listen(t.Context(), netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	defer l.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}

// hasSOA reports whether rrs hold an SOA record.
func hasSOA(rrs []dns.RR) bool {
	return slices.ContainsFunc(rrs, func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeSOA })
}
