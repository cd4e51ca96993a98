package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/auth"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// EmbeddedConfig configures the etcd server that `gitfleet up` runs in-process.
type EmbeddedConfig struct {
	// Dir holds etcd's data; it survives restarts.
	Dir string
	// ClientAddr is host:port for clients; port 0 picks a free port.
	ClientAddr string
	// CompactionRetention keeps this much history (periodic compaction); 0 means 1h.
	CompactionRetention time.Duration
	// PublicAddr, when set, is a second client address, for other hosts (IP:port; port 0
	// picks one). It needs TLS.
	PublicAddr string
	// TLS, when set, serves every client address over TLS and admits only clients that present
	// a certificate from its CA.
	TLS *ServerTLS
	// MaxTxnOps and MaxRequestBytes are etcd's limits on one transaction; 0 means MaxTxnOps
	// and MaxRequestBytes. Tests lower them to see a commit refused as an external etcd with
	// default limits refuses it.
	MaxTxnOps       uint
	MaxRequestBytes uint
	// Name is the member's name in the cluster (the host's node name); "gitfleet" when empty.
	Name string
	// PeerAddr, when set, is where the member talks to the other members (IP:port), over TLS
	// with certificates from TLS's CA. Empty: a loopback peer URL, for a cluster of one.
	PeerAddr string
	// InitialCluster, when set, makes a new data dir join an existing cluster, as etcd's
	// --initial-cluster with --initial-cluster-state existing: name=peerURL for every member,
	// this one among them. A data dir that holds a member already ignores it.
	InitialCluster string
}

// ServerTLS names the PEM files of the embedded server's TLS: its certificate and key, and the
// CA its clients' certificates must chain to.
type ServerTLS struct {
	CertFile, KeyFile, CAFile string
}

// Embedded is a running in-process etcd server.
type Embedded struct {
	etcd *embed.Etcd
	// closing silences etcd's log: while it stops, its listeners and streams report their own
	// closing as errors.
	closing *atomic.Bool
	// Endpoints are the client URLs to reach the server from this host.
	Endpoints []string
	// PublicEndpoints are the client URLs for other hosts (PublicAddr), else none.
	PublicEndpoints []string
	// Name is the member's name, PeerURL where the other members reach it.
	Name, PeerURL string
}

// MaxTxnOps and MaxRequestBytes let one transaction hold a whole commit's changes, so a
// commit applies whole.
const (
	MaxTxnOps       = 100_000
	MaxRequestBytes = 64 << 20
)

// HoldsMember reports whether dir, an EmbeddedConfig.Dir, holds an etcd member already (its
// write-ahead log): a start then ignores InitialCluster.
func HoldsMember(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "member", "wal"))
	return err == nil
}

// StartEmbedded starts a single-member etcd on loopback and waits until it serves.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig, log *slog.Logger) (*Embedded, error) {
	if cfg.ClientAddr == "" {
		cfg.ClientAddr = "127.0.0.1:0"
	}
	if cfg.CompactionRetention == 0 {
		cfg.CompactionRetention = time.Hour
	}
	if cfg.PublicAddr != "" && cfg.TLS == nil {
		return nil, fmt.Errorf("start embedded etcd: a public client address (%s) needs TLS", cfg.PublicAddr)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd dir: %w", err)
	}
	closing := new(atomic.Bool)
	ec, err := etcdConfig(cfg, log.With("component", "etcd"), closing)
	if err != nil {
		return nil, err
	}
	peerURL := ec.AdvertisePeerUrls[0].String()
	local := ec.ListenClientUrls[0].String()
	var public []string
	for _, u := range ec.ListenClientUrls[1:] {
		public = append(public, u.String())
	}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd: %w", err)
	}
	emb := &Embedded{etcd: e, closing: closing, Endpoints: []string{local}, PublicEndpoints: public,
		Name: ec.Name, PeerURL: peerURL}
	if err := emb.ready(ctx); err != nil {
		emb.Close()
		return nil, err
	}
	if err := emb.keepPeerURL(ctx, peerURL); err != nil {
		emb.Close()
		return nil, err
	}
	log.Info("embedded etcd ready", "dir", cfg.Dir, "member", ec.Name, "client", local, "public", public, "peer", peerURL, "tls", cfg.TLS != nil)
	return emb, nil
}

// ready waits until the server serves. A member that joins a cluster is ready once it has
// caught up with the leader's log.
func (e *Embedded) ready(ctx context.Context) error {
	select {
	case <-e.etcd.Server.ReadyNotify():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for embedded etcd: %w", ctx.Err())
	case <-time.After(60 * time.Second):
		return fmt.Errorf("wait for embedded etcd: not ready after 60s (a joining member needs a majority of the others up)")
	}
}

// keepPeerURL makes the member's peer URL in the cluster the one it now listens on: a data
// dir created for one host alone, on loopback, that restarts with --advertise-address moves
// its member to the advertised address.
func (e *Embedded) keepPeerURL(ctx context.Context, peerURL string) error {
	s := e.etcd.Server
	m := s.Cluster().Member(s.MemberID())
	if m == nil || slices.Equal(m.PeerURLs, []string{peerURL}) {
		return nil
	}
	upd := *m
	upd.RaftAttributes.PeerURLs = []string{peerURL}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.UpdateMember(ctx, upd); err != nil {
		return fmt.Errorf("move member %s from %v to %s: %w", m.Name, m.PeerURLs, peerURL, err)
	}
	return nil
}

// etcdConfig is the embedded server's configuration. Its log goes to log, warnings and errors
// only, until closing is set.
func etcdConfig(cfg EmbeddedConfig, log *slog.Logger, closing *atomic.Bool) (*embed.Config, error) {
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
	ec.GRPCKeepAliveMinTime = keepAliveTime / 2
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = cfg.CompactionRetention.String()
	ec.MaxTxnOps = cmp.Or(cfg.MaxTxnOps, MaxTxnOps)
	ec.MaxRequestBytes = cmp.Or(cfg.MaxRequestBytes, MaxRequestBytes)
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.New(&slogCore{log: log, min: zapcore.WarnLevel, quiet: closing}))
	return ec, nil
}

// clientURLs are the local client URL, then the public one if any, https with TLS; ports 0
// are resolved.
func clientURLs(cfg EmbeddedConfig) ([]url.URL, error) {
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

// Close stops the server. Close its clients first: a client still connected sees its streams
// fail.
// Closing twice is harmless.
func (e *Embedded) Close() {
	if e.closing.Swap(true) {
		return
	}
	e.etcd.Close()
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

// slogCore forwards etcd's zap log into gitfleet's slog logger, so that etcd's warnings and
// errors read like the rest of the log: one line each, no stack trace.
type slogCore struct {
	log *slog.Logger
	// min is the lowest level forwarded.
	min zapcore.Level
	// quiet, once set, drops everything.
	quiet *atomic.Bool
}

var _ zapcore.Core = (*slogCore)(nil)

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= c.min && !c.quiet.Load() }

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{log: c.log.With(attrs(fields)...), min: c.min, quiet: c.quiet}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) && !deliberate(e.Message) {
		return ce.AddCore(e, c)
	}
	return ce
}

// deliberate reports etcd warnings about choices StartEmbedded makes on purpose (one loopback
// port, no auth, room for a whole commit in one request), or about what gitfleet does on
// purpose: change a node's rights as its Pods come and go, which makes etcd refuse, and the
// client retry, a request that crossed the change. They would show all the time and teach
// users to skip etcd's lines.
func deliberate(msg string) bool {
	switch msg {
	case "Running http and grpc server on single port. This is not recommended for production.",
		"simple token is not cryptographically signed",
		"exceeded recommended request limit",
		"request auth revision is less than current node auth revision":
		return true
	}
	return false
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if c.quiet.Load() || retried(e, fields) {
		return nil
	}
	log := c.log
	if e.LoggerName != "" {
		log = log.With("logger", e.LoggerName)
	}
	log.Log(context.Background(), slogLevel(e.Level), e.Message, attrs(fields)...)
	return nil
}

// retried reports etcd's warning about a request it refused because the rights changed while
// it was on its way, which the client retries (see deliberate).
func retried(e zapcore.Entry, fields []zapcore.Field) bool {
	if e.Message != "failed to apply request" {
		return false
	}
	for _, f := range fields {
		if err, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType && errors.Is(err, auth.ErrAuthOldRevision) {
			return true
		}
	}
	return false
}

func (c *slogCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l < zapcore.InfoLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// attrs turns zap fields into slog key-value pairs, sorted by key so lines read the same each
// time.
func attrs(fields []zapcore.Field) []any {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		out = append(out, k, enc.Fields[k])
	}
	return out
}
