package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

// upFlags are the flags of `up`: every role's, and the embedded etcd's.
type upFlags struct {
	conn            connFlags
	src             sourceFlags
	node            nodeFlags
	etcdAddr, level string
	// etcdPublic and joinAddr are where other hosts reach etcd and the join server, with
	// --advertise-address.
	etcdPublic, joinAddr string
}

func (f *upFlags) register(fs *flag.FlagSet) {
	f.conn.register(fs)
	f.src.register(fs)
	f.node.register(fs)
	fs.StringVar(&f.etcdAddr, "etcd-listen", "127.0.0.1:0", "client address of the embedded etcd (port 0 picks one, recorded in DATA_DIR/endpoints)")
	fs.StringVar(&f.etcdPublic, "etcd-public-listen", "", "with --advertise-address: the embedded etcd's address for other hosts, IP:PORT (default ADVERTISE:"+defaultEtcdPort+"; TLS, client certificates)")
	fs.StringVar(&f.joinAddr, "join-listen", "", "with --advertise-address: the join server's address (default ADVERTISE:"+defaultJoinPort+"; port 0 picks one, recorded in DATA_DIR/join-url)")
	fs.StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
}

func runUp(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f upFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet up --repo URL|PATH [flags]\n\nRuns an embedded etcd (unless --etcd-endpoints), the controller, the scheduler and a node agent in one process."+
			"\nWith --advertise-address IP, other hosts can join: up keeps a cluster CA in DATA_DIR/pki, serves etcd over TLS with"+
			"\nclient certificates on IP:2379 and the join server on IP:9443 ('gitfleet token create' makes join tokens).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, f.level)
	if err != nil {
		return err
	}
	cfg, err := f.src.config(f.conn.dataDir)
	if err != nil {
		return err
	}
	err = up(ctx, f, cfg, log)
	if ctx.Err() == nil {
		return err
	}
	// A signal: stopping is what the user asked for, even when it cut the start short (an
	// image import, say) and that step failed for it.
	if err != nil {
		log.Debug("the stop interrupted the start", "err", err)
	}
	log.Info("gitfleet stopped; containers keep running and the next start adopts them")
	return nil
}

// up runs the embedded etcd and every role until ctx ends. It stops them in order, the roles,
// then the client, then the server, so that nothing talks to etcd while it closes.
func up(ctx context.Context, f upFlags, cfg source.Config, log *slog.Logger) error {
	if err := makeDataDir(f.conn.dataDir); err != nil {
		return err
	}
	x, err := newExposure(f, time.Now())
	if err != nil {
		return err
	}
	etcd, stopEtcd, err := startEtcd(ctx, f.conn, f.etcdAddr, x, log)
	if err != nil {
		return err
	}
	defer stopEtcd()
	st, closeStore, err := f.conn.connect(etcd.Endpoints)
	if err != nil {
		return err
	}
	defer closeStore()
	roles, err := upRoles(st, f, cfg, log)
	if err != nil {
		return err
	}
	if x != nil {
		r, err := x.joinRole(st, etcd.PublicEndpoints, f.conn.dataDir, log)
		if err != nil {
			return err
		}
		roles = append(roles, r)
	}
	log.Info("gitfleet up", "repo", source.RedactURL(cfg.URL), "branch", cfg.Branch, "path", cfg.Path, "data_dir", f.conn.dataDir)
	return runRoles(ctx, log, roles...)
}

// upRoles are every role of gitfleet: the controllers (and the webhook), the scheduler and
// this node's agent.
func upRoles(st *store.Store, f upFlags, cfg source.Config, log *slog.Logger) ([]role, error) {
	candidate := candidateName(f.conn.dataDir)
	roles, err := f.src.webhook.with(st, cfg.Branch, log)(controllerRoles(st, cfg, &f.src, candidate, log))
	if err != nil {
		return nil, err
	}
	agent, err := agentRole(st, f.node, f.conn.dataDir, log)
	if err != nil {
		return nil, err
	}
	return append(roles, schedulerRole(st, candidate, log), agent), nil
}

// etcdURLs are where this host's roles reach etcd, and where other hosts do (none without
// --advertise-address).
type etcdURLs struct {
	Endpoints, PublicEndpoints []string
}

// startEtcd starts the embedded etcd, exposed to other hosts as x says (nil: loopback only, no
// TLS), and records its endpoints for the CLI, unless the user named an external cluster.
func startEtcd(ctx context.Context, conn connFlags, addr string, x *exposure, log *slog.Logger) (etcdURLs, func(), error) {
	if conn.endpoints != "" {
		return etcdURLs{Endpoints: strings.Split(conn.endpoints, ",")}, func() {}, nil
	}
	cfg := store.EmbeddedConfig{Dir: filepath.Join(conn.dataDir, "etcd"), ClientAddr: addr}
	if x != nil {
		cfg.PublicAddr, cfg.TLS = x.etcdAddr, x.etcdTLS()
	}
	e, err := store.StartEmbedded(ctx, cfg, log)
	if err != nil {
		return etcdURLs{}, nil, err
	}
	file := endpointsFile(conn.dataDir)
	if err := writeFileAtomic(file, []byte(strings.Join(e.Endpoints, "\n")+"\n")); err != nil {
		e.Close()
		return etcdURLs{}, nil, err
	}
	return etcdURLs{Endpoints: e.Endpoints, PublicEndpoints: e.PublicEndpoints}, func() {
		os.Remove(file)
		e.Close()
	}, nil
}

// makeDataDir creates the data dir, or tightens the one there, to 0700: it holds etcd's data,
// the cluster's keys and the endpoints, which no other user of the host may read.
func makeDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path so a reader never sees half a file. The file is 0600: what
// gitfleet keeps this way (endpoints, the join URL, the node's name and address) is for root.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	os.Remove(tmp) // WriteFile keeps the mode of a file left by a crash
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
