package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gitfleet/gitfleet/join"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/embedded"
)

// Default ports of what `up --advertise-address` serves to other hosts.
const (
	defaultEtcdPort = "2379"
	defaultJoinPort = "9443"
)

// exposure is the embedded etcd's TLS: the cluster CA and the identities' certificates in
// DATA_DIR/pki and, with --advertise-address, the addresses other hosts reach: etcd on the
// advertised address, its peer address, and the join server.
type exposure struct {
	ca  *pki.CA
	dir string // DATA_DIR/pki
	// advertise is the IP other hosts reach this one at.
	advertise string
	// etcdAddr, peerAddr and joinAddr are where etcd serves other hosts, where it talks to the
	// other members and where the join server listens.
	etcdAddr, peerAddr, joinAddr string
}

// newExposure loads or creates the cluster CA and this host's certificates, or returns nil for
// an external etcd. The embedded etcd always serves TLS to clients with a certificate from the
// CA, whose CommonName is an etcd user with only its rights: no other user of the host (the
// data dir is root's) and no Pod on the host network can reach it. With --advertise-address it
// also serves other hosts, its peers and joins.
func newExposure(f upFlags, node string, now time.Time) (*exposure, error) {
	if f.conn.endpoints != "" {
		return nil, nil
	}
	x := &exposure{dir: pkiDir(f.conn.dataDir)}
	ips := listenIPs(net.IPv4(127, 0, 0, 1), f.etcdAddr)
	if f.node.advertise != "" {
		ip := net.ParseIP(f.node.advertise)
		if ip == nil {
			return nil, fmt.Errorf("--advertise-address %q is not an IP address", f.node.advertise)
		}
		x.advertise = ip.String()
		x.etcdAddr = cmp.Or(f.etcdPublic, net.JoinHostPort(x.advertise, defaultEtcdPort))
		x.joinAddr = cmp.Or(f.joinAddr, net.JoinHostPort(x.advertise, defaultJoinPort))
		x.peerAddr = f.peerAddr()
		if host, _, err := net.SplitHostPort(x.etcdAddr); err != nil || net.ParseIP(host) == nil || net.ParseIP(host).IsUnspecified() {
			return nil, fmt.Errorf("--etcd-public-listen %q: want IP:PORT with the IP other hosts dial", x.etcdAddr)
		}
		ips = listenIPs(net.IPv4(127, 0, 0, 1), f.etcdAddr, x.advertise, x.etcdAddr, x.joinAddr, x.peerAddr)
	}
	var err error
	if x.ca, err = pki.LoadOrCreateCA(x.dir, now); err != nil {
		return nil, err
	}
	server := pki.Request{CommonName: "gitfleet", Usage: pki.Server, DNSNames: []string{"localhost"}, IPs: ips}
	if _, err := x.ca.Ensure(x.dir, pki.ServerCert, pki.ServerKey, server, now); err != nil {
		return nil, err
	}
	// The admin identity of the CLI's write commands; readable by root alone.
	if _, err := x.ca.Ensure(x.dir, pki.ClientCert, pki.ClientKey, pki.Request{CommonName: store.UserAdmin}, now); err != nil {
		return nil, err
	}
	if err := x.ensureIdentities(node, now); err != nil {
		return nil, err
	}
	return x, nil
}

// exposed reports whether other hosts reach this one: --advertise-address.
func (x *exposure) exposed() bool { return x != nil && x.advertise != "" }

// listenIPs are ip and the specific IPs of addrs (IP or IP:PORT), each once: what the server
// certificate names.
func listenIPs(ip net.IP, addrs ...string) []net.IP {
	out := []net.IP{ip}
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		ip := net.ParseIP(host)
		if ip == nil || ip.IsUnspecified() || slices.ContainsFunc(out, ip.Equal) {
			continue
		}
		out = append(out, ip)
	}
	return out
}

// etcdTLS is the embedded etcd's TLS: the server pair, clients checked against the CA.
func (x *exposure) etcdTLS() *embedded.ServerTLS {
	return &embedded.ServerTLS{CertFile: filepath.Join(x.dir, pki.ServerCert), KeyFile: filepath.Join(x.dir, pki.ServerKey),
		CAFile: filepath.Join(x.dir, pki.CACert)}
}

// joinURLFile is where `up` records its join server's URL for `token create --print-join-command`.
func joinURLFile(dataDir string) string { return filepath.Join(dataDir, "join-url") }

// joinRole listens on the join address now (so a taken port fails the start), records the
// server's URL in DATA_DIR/join-url and returns the role that serves joins, handing out
// etcdEndpoints.
func (x *exposure) joinRole(st *store.Store, etcdEndpoints []string, dataDir string, log *slog.Logger) (role, error) {
	cert, err := pki.ServerCertificate(x.dir)
	if err != nil {
		return role{}, err
	}
	l, err := net.Listen("tcp", x.joinAddr)
	if err != nil {
		return role{}, fmt.Errorf("listen for joins: %w", err)
	}
	host, port, _ := net.SplitHostPort(l.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = x.advertise
	}
	url := "https://" + net.JoinHostPort(host, port)
	if err := writeFileAtomic(joinURLFile(dataDir), []byte(url+"\n")); err != nil {
		l.Close()
		return role{}, err
	}
	log = log.With("role", "join")
	srv := join.NewServer(st, join.ServerConfig{CA: x.ca, EtcdEndpoints: etcdEndpoints, Members: st, Users: st}, log)
	return role{"join", func(ctx context.Context) error {
		defer os.Remove(joinURLFile(dataDir))
		return srv.Serve(ctx, l, cert)
	}}, nil
}
