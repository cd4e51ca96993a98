package store

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// EmbeddedConfig configures the etcd server that `gitfleet up` runs in-process.
type EmbeddedConfig struct {
	// Dir holds etcd's data; it survives restarts.
	Dir string
	// ClientAddr is host:port for clients; port 0 picks a free port.
	ClientAddr string
	// CompactionRetention keeps this much history (periodic compaction); 0 means 1h.
	CompactionRetention time.Duration
}

// Embedded is a running in-process etcd server.
type Embedded struct {
	etcd *embed.Etcd
	// Endpoints are the client URLs to reach the server.
	Endpoints []string
}

// MaxTxnOps lets one transaction hold a whole commit's changes, so a commit applies whole.
const MaxTxnOps = 100_000

// StartEmbedded starts a single-member etcd on loopback and waits until it serves.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig, log *slog.Logger) (*Embedded, error) {
	if cfg.ClientAddr == "" {
		cfg.ClientAddr = "127.0.0.1:0"
	}
	if cfg.CompactionRetention == 0 {
		cfg.CompactionRetention = time.Hour
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd dir: %w", err)
	}
	clientURL, err := freeURL(cfg.ClientAddr)
	if err != nil {
		return nil, err
	}
	peerURL, err := peerURLFor(cfg.Dir)
	if err != nil {
		return nil, err
	}
	ec := embed.NewConfig()
	ec.Name = "gitfleet"
	ec.Dir = cfg.Dir
	ec.ListenClientUrls = []url.URL{*clientURL}
	ec.AdvertiseClientUrls = []url.URL{*clientURL}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = cfg.CompactionRetention.String()
	ec.MaxTxnOps = MaxTxnOps
	ec.MaxRequestBytes = 64 << 20
	ec.LogLevel = "error"
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("wait for embedded etcd: %w", ctx.Err())
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("wait for embedded etcd: not ready after 60s")
	}
	addr := e.Clients[0].Addr().String()
	log.Info("embedded etcd ready", "dir", cfg.Dir, "client", addr)
	return &Embedded{etcd: e, Endpoints: []string{"http://" + addr}}, nil
}

// Close stops the server.
func (e *Embedded) Close() { e.etcd.Close() }

// peerURLFor returns the peer URL this data dir was created with, or picks and records one.
// The member's peer URL is part of the cluster state in the WAL, so a restart must reuse it.
func peerURLFor(dir string) (*url.URL, error) {
	file := filepath.Clean(dir) + ".peer-url"
	if b, err := os.ReadFile(file); err == nil {
		return url.Parse(strings.TrimSpace(string(b)))
	}
	u, err := freeURL("127.0.0.1:0")
	if err != nil {
		return nil, err
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
