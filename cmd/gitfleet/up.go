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

	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store/embedded"
)

// upFlags are the flags of `up`: every role's, and the embedded etcd's.
type upFlags struct {
	conn            connFlags
	src             sourceFlags
	node            nodeFlags
	etcdAddr, level string
	// etcdPublic, etcdPeer and joinAddr are where other hosts reach etcd, the etcd members
	// each other, and the join server, with --advertise-address.
	etcdPublic, etcdPeer, joinAddr string
	// join makes this host a control-plane member of another's cluster.
	join joinFlags
}

func (f *upFlags) register(fs *flag.FlagSet) {
	f.conn.register(fs)
	f.src.register(fs)
	f.node.register(fs)
	fs.StringVar(&f.etcdAddr, "etcd-listen", "127.0.0.1:0", "client address of the embedded etcd (port 0 picks one, recorded in DATA_DIR/endpoints)")
	fs.StringVar(&f.etcdPublic, "etcd-public-listen", "", "with --advertise-address: the embedded etcd's address for other hosts, IP:PORT (default ADVERTISE:"+defaultEtcdPort+"; TLS, client certificates)")
	fs.StringVar(&f.etcdPeer, "etcd-peer-listen", "", "with --advertise-address: where the embedded etcd talks to the other members, IP:PORT (default ADVERTISE:"+defaultPeerPort+"; TLS, certificates from the cluster CA)")
	f.join.registerAs(fs, "join", "make this host a control-plane member of the cluster whose join server is at this URL (https://IP:9443), with a token from 'gitfleet token create --control-plane' and --advertise-address; later starts need neither")
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
			"\nup keeps a cluster CA in DATA_DIR/pki; its etcd serves TLS to clients with a certificate from it, each role as its own"+
			"\netcd user with only its rights. With --advertise-address IP, other hosts can join: etcd serves on IP:2379 too and"+
			"\nthe join server on IP:9443 ('gitfleet token create' makes join tokens)."+
			"\nWith --join URL --token-file F --advertise-address IP, it joins another host's cluster as a control-plane member:"+
			"\nits etcd becomes a member (three tolerate the loss of one) and its roles stand by, each led by one host at a time.")
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
	name, err := keptValue(filepath.Join(f.conn.dataDir, "node-name"), f.node.name, hostname)
	if err != nil {
		return err
	}
	cluster, err := f.joinControlPlane(ctx, name, log)
	if err != nil {
		return err
	}
	x, err := newExposure(f, name, time.Now())
	if err != nil {
		return err
	}
	etcd, stopEtcd, err := startEtcd(ctx, f.conn, f.etcdAddr, x, etcdMember{name: name, cluster: cluster}, log)
	if err != nil {
		return err
	}
	defer stopEtcd()
	o := newObserve()
	f.conn.dialOpts = o.dialOptions()
	ids, closeStores, err := connectIdentities(ctx, f.conn, etcd.Endpoints, x, name)
	if err != nil {
		return err
	}
	defer closeStores()
	o.checkEtcd(ids.node)
	logs, err := upLogsServing(x, f, name, time.Now())
	if err != nil {
		return err
	}
	roles, err := upRoles(ids, f, cfg, logs, log, o)
	if err != nil {
		return err
	}
	if x.exposed() {
		r, err := x.joinRole(ids.admin, etcd.PublicEndpoints, f.conn.dataDir, log)
		if err != nil {
			return err
		}
		roles = append(roles, r)
	}
	log.Info("gitfleet up", "repo", source.RedactURL(cfg.URL), "branch", cfg.Branch, "path", cfg.Path, "data_dir", f.conn.dataDir)
	return runRoles(ctx, log, roles...)
}

// upRoles are every role of gitfleet, each with its identity's client: the controllers (and
// the webhook), the scheduler, this node's agent (serving logs as logs says) and, when etcd
// checks rights, the controller of the nodes' rights; o gets their metrics, events and readiness.
func upRoles(ids identities, f upFlags, cfg source.Config, logs logsServing, log *slog.Logger, o *observe) ([]role, error) {
	candidate := candidateName(f.conn.dataDir)
	repo, err := source.New(cfg)
	if err != nil {
		return nil, err
	}
	roles, err := f.src.webhook.with(ids.controller, cfg.Branch, log)(controllerRoles(ids.controller, repo, &f.src, candidate, log, o))
	// The dashboard writes sync requests and pins, as the CLI's admin does.
	roles, err = f.src.dashboard.with(httpSite{st: ids.admin, repo: repo, src: &f.src, cfg: cfg, obs: o}, log)(roles, err)
	if err != nil {
		return nil, err
	}
	f.node.serviceCIDR = f.src.serviceCIDR
	agent, err := agentRole(ids.node, f.node, f.conn.dataDir, logs, log, o)
	if err != nil {
		return nil, err
	}
	roles = append(roles, schedulerRole(ids.scheduler, candidate, log, o), agent)
	if ids.auth {
		roles = append(roles, nodeRightsRole(ids.admin, candidate, log))
	}
	return roles, nil
}

// etcdURLs are where this host's roles reach etcd, and where other hosts do (none without
// --advertise-address).
type etcdURLs struct {
	Endpoints, PublicEndpoints []string
}

// etcdMember names this host's etcd member (with --advertise-address) and, on its first start
// after a control-plane join, the cluster it joins.
type etcdMember struct {
	name, cluster string
}

// startEtcd starts the embedded etcd with x's TLS, exposed to other hosts as x says, and records its endpoints for the CLI, unless the user named an external cluster. A
// member that joined votes once it caught up; until then no role can use it.
func startEtcd(ctx context.Context, conn connFlags, addr string, x *exposure, m etcdMember, log *slog.Logger) (etcdURLs, func(), error) {
	if conn.endpoints != "" {
		return etcdURLs{Endpoints: strings.Split(conn.endpoints, ",")}, func() {}, nil
	}
	cfg := embedded.Config{Dir: etcdDir(conn.dataDir), ClientAddr: addr}
	if x != nil {
		cfg.PublicAddr, cfg.TLS, cfg.PeerAddr = x.etcdAddr, x.etcdTLS(), x.peerAddr
	}
	if x.exposed() {
		cfg.Name, cfg.InitialCluster = m.name, m.cluster
	}
	e, err := embedded.Start(ctx, cfg, log)
	if err != nil {
		return etcdURLs{}, nil, err
	}
	if err := promote(ctx, e, x, log); err != nil {
		e.Close()
		return etcdURLs{}, nil, err
	}
	eps := e.ClusterEndpoints()
	file := endpointsFile(conn.dataDir)
	if err := writeFileAtomic(file, []byte(strings.Join(eps, "\n")+"\n")); err != nil {
		e.Close()
		return etcdURLs{}, nil, err
	}
	return etcdURLs{Endpoints: eps, PublicEndpoints: e.PublicEndpoints}, func() {
		os.Remove(file)
		e.Close()
	}, nil
}

// promote makes a member that joined as a learner a voter, through the other members, as this
// host's admin.
func promote(ctx context.Context, e *embedded.Server, x *exposure, log *slog.Logger) error {
	if x == nil || !e.Learner() {
		return nil
	}
	tlsCfg, err := pki.DirClientTLS(x.dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return e.Promote(ctx, tlsCfg, log)
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
