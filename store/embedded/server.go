package embedded

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gitfleet/gitfleet/store"
	"go.etcd.io/etcd/server/v3/embed"
)

// Config configures the etcd server that `gitfleet up` runs in-process.
type Config struct {
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

// Server is a running in-process etcd server.
type Server struct {
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

// HoldsMember reports whether dir, an Config.Dir, holds an etcd member already (its
// write-ahead log): a start then ignores InitialCluster.
func HoldsMember(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "member", "wal"))
	return err == nil
}

// Start starts a single-member etcd on loopback and waits until it serves.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
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
	emb := &Server{etcd: e, closing: closing, Endpoints: []string{local}, PublicEndpoints: public,
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
func (e *Server) ready(ctx context.Context) error {
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
func (e *Server) keepPeerURL(ctx context.Context, peerURL string) error {
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

// Close stops the server. Close its clients first: a client still connected sees its streams
// fail.
// Closing twice is harmless.
func (e *Server) Close() {
	if e.closing.Swap(true) {
		return
	}
	e.etcd.Close()
}

// Learner reports whether this member is a learner still: it serves no client but Status.
func (e *Server) Learner() bool { return e.etcd.Server.IsLearner() }

// ClusterEndpoints are this member's local client URL and the other members' client URLs, as
// this member knows them: a host's roles and CLI reach the cluster through any of them.
func (e *Server) ClusterEndpoints() []string {
	out := slices.Clone(e.Endpoints)
	s := e.etcd.Server
	for _, m := range s.Cluster().Members() {
		if m.ID != s.MemberID() {
			out = append(out, m.ClientURLs...)
		}
	}
	return out
}

// Promote makes this member, a learner, a voter: it asks the other members (through tlsCfg)
// until the learner has caught up, then waits until this member applied its promotion. A
// voter returns at once.
func (e *Server) Promote(ctx context.Context, tlsCfg *tls.Config, log *slog.Logger) error {
	if !e.Learner() {
		return nil
	}
	others := slices.DeleteFunc(e.ClusterEndpoints(), func(u string) bool { return slices.Contains(e.Endpoints, u) })
	c, err := store.ConnectTLS(others, tlsCfg)
	if err != nil {
		return err
	}
	defer c.Close()
	st := store.New(c)
	// By ID: a learner's name may not be published yet.
	id := strconv.FormatUint(uint64(e.etcd.Server.MemberID()), 16)
	for {
		err := st.PromoteMember(ctx, id)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrLearnerBehind) && !errors.Is(err, store.ErrMembersSettling) {
			log.Warn("promote this etcd member; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("promote etcd member %s: %w (last: %w)", e.Name, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	for e.Learner() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the promotion of etcd member %s: %w", e.Name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	log.Info("this etcd member votes now", "member", e.Name)
	return nil
}
