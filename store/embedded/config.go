package embedded

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/gitfleet/gitfleet/store"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// etcdConfig is the embedded server's configuration. Its log goes to log, warnings and errors
// only, until closing is set.
func etcdConfig(cfg Config, log *slog.Logger, closing *atomic.Bool) (*embed.Config, error) {
	clientURLs, err := clientURLs(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.PeerAddr != "" && cfg.TLS == nil {
		return nil, fmt.Errorf("start embedded etcd: a peer address (%s) needs TLS", cfg.PeerAddr)
	}
	peerURL, err := peerURLFor(cfg.Dir, cfg.PeerAddr)
	if err != nil {
		return nil, err
	}
	ec := embed.NewConfig()
	ec.Name = cmp.Or(cfg.Name, "gitfleet")
	ec.Dir = cfg.Dir
	ec.ListenClientUrls = clientURLs
	// Other hosts learn the members' client URLs from the member list: the public one, not a
	// loopback address that would be their own.
	ec.AdvertiseClientUrls = clientURLs[len(clientURLs)-1:]
	if cfg.TLS != nil {
		ec.ClientTLSInfo = transport.TLSInfo{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			TrustedCAFile: cfg.TLS.CAFile, ClientCertAuth: true}
	}
	if cfg.PeerAddr != "" {
		ec.PeerTLSInfo = transport.TLSInfo{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			TrustedCAFile: cfg.TLS.CAFile, ClientCertAuth: true}
	}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	if cfg.InitialCluster != "" {
		ec.InitialCluster = cfg.InitialCluster
		ec.ClusterState = embed.ClusterStateFlagExisting
	}
	// Clients speak gRPC; the JSON gateway would be one more door to guard.
	ec.EnableGRPCGateway = false
	ec.GRPCKeepAliveMinTime = store.KeepAliveTime / 2
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = cfg.CompactionRetention.String()
	ec.MaxTxnOps = cmp.Or(cfg.MaxTxnOps, MaxTxnOps)
	ec.MaxRequestBytes = cmp.Or(cfg.MaxRequestBytes, MaxRequestBytes)
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(&slogCore{log: log, min: zapcore.WarnLevel, quiet: closing}))
	return ec, nil
}

// clientURLs are the local client URL, then the public one if any, https with TLS; ports 0
// are resolved.
func clientURLs(cfg Config) ([]url.URL, error) {
	var out []url.URL
	for _, addr := range []string{cfg.ClientAddr, cfg.PublicAddr} {
		if addr == "" {
			continue
		}
		u, err := freeURL(addr)
		if err != nil {
			return nil, err
		}
		if cfg.TLS != nil {
			u.Scheme = "https"
		}
		out = append(out, *u)
	}
	return out, nil
}

// peerURLFor returns https://addr when addr is set, else the peer URL this data dir was created
// with, or a free loopback one it picks; it records the URL. The member's peer URL is part of
// the cluster state in the WAL, so a restart must reuse it (or move the member: keepPeerURL).
func peerURLFor(dir, addr string) (*url.URL, error) {
	file := filepath.Clean(dir) + ".peer-url"
	cluster := addr != ""
	if !cluster {
		b, err := os.ReadFile(file)
		if err == nil {
			u, err := url.Parse(strings.TrimSpace(string(b)))
			if err == nil && u.Scheme == "https" {
				return nil, fmt.Errorf("start embedded etcd: its member talks to other members at %s: start it with the --advertise-address it had", u)
			}
			return u, err
		}
		addr = "127.0.0.1:0"
	}
	u, err := freeURL(addr)
	if err != nil {
		return nil, err
	}
	if cluster {
		u.Scheme = "https"
	}
	if err := os.WriteFile(file, []byte(u.String()+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("record peer url: %w", err)
	}
	return u, nil
}

// freeURL resolves port 0 to a free loopback port now, because etcd advertises the URL it is given.
func freeURL(addr string) (*url.URL, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("parse address %q: %w", addr, err)
	}
	if port == "0" {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		addr = l.Addr().String()
		l.Close()
	}
	if strings.Contains(addr, "://") {
		return url.Parse(addr)
	}
	return &url.URL{Scheme: "http", Host: addr}, nil
}
