package dns

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/miekg/dns"
)

// forwarder sends the questions the zone does not own to the host's resolvers, one after the
// other, and returns the first real answer. It caches nothing: the host's resolvers may.
type forwarder struct {
	// upstreams are host:port addresses, in the order of the host's resolv.conf.
	upstreams []string
	timeout   time.Duration
}

// readUpstreams returns the resolvers that resolvConf names, on port, except self (where this
// server listens: a host that names the cluster DNS would make a query loop). A missing file
// gives none, as on a host with no resolver.
func readUpstreams(resolvConf string, port int, self netip.AddrPort) ([]string, error) {
	cc, err := dns.ClientConfigFromFile(resolvConf)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read host resolvers: %w", err)
	}
	self = netip.AddrPortFrom(self.Addr().Unmap(), self.Port())
	var out []string
	for _, s := range cc.Servers {
		addr, err := netip.ParseAddr(s)
		if err != nil || netip.AddrPortFrom(addr.Unmap(), uint16(port)) == self {
			continue
		}
		out = append(out, net.JoinHostPort(s, strconv.Itoa(port)))
	}
	return out, nil
}

// forward asks each upstream in turn, over network ("udp" or "tcp", the client's own, so that
// a truncated upstream answer makes the client come back over TCP), each for at most the
// forwarder's timeout. An upstream that fails, or answers SERVFAIL or REFUSED, passes the
// question on to the next; when none gives better, the reply is the last such answer, else
// SERVFAIL.
func (f *forwarder) forward(ctx context.Context, r *dns.Msg, network string) *dns.Msg {
	var last *dns.Msg
	for _, up := range f.upstreams {
		resp, err := f.exchange(ctx, r, network, up)
		if err != nil {
			continue
		}
		if resp.Rcode != dns.RcodeServerFailure && resp.Rcode != dns.RcodeRefused {
			return resp
		}
		last = resp
	}
	if last != nil {
		return last
	}
	return new(dns.Msg).SetRcode(r, dns.RcodeServerFailure)
}

func (f *forwarder) exchange(ctx context.Context, r *dns.Msg, network, upstream string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	// a reply bigger than the question allowed is read whole, then cut to size for the client
	c := dns.Client{Net: network, Timeout: f.timeout, UDPSize: dns.MaxMsgSize}
	resp, _, err := c.ExchangeContext(ctx, r, upstream)
	if err != nil {
		return nil, fmt.Errorf("forward to %s: %w", upstream, err)
	}
	return resp, nil
}
