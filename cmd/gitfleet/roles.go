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
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/endpoints"
	"github.com/gitfleet/gitfleet/health"
	"github.com/gitfleet/gitfleet/leader"
	"github.com/gitfleet/gitfleet/metrics"
	"github.com/gitfleet/gitfleet/nodeipam"
	"github.com/gitfleet/gitfleet/noderights"
	"github.com/gitfleet/gitfleet/reconciler"
	"github.com/gitfleet/gitfleet/scheduler"
	"github.com/gitfleet/gitfleet/services"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/workload"
)

// sourceFlags say which git repository the controller follows.
type sourceFlags struct {
	repo, branch, path string
	poll               time.Duration
	webhook            webhookFlags
	dashboard          dashboardFlags
	auth               gitAuthFlags
	// allowMassPrune, selfHeal and autoRollback set reconciler.Options.AllowMassPrune,
	// DisableSelfHeal and AutoRollback.
	allowMassPrune, selfHeal, autoRollback bool
	// health bounds how long an object may look bad before it is recorded Degraded.
	health health.Policy
	// clusterCIDR is the Pod network, split into one range per node.
	clusterCIDR string
	// serviceCIDR holds the Services' virtual IPs.
	serviceCIDR string
}

func (f *sourceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.repo, "repo", "", "git repository to follow: a URL or a local path (required)")
	fs.StringVar(&f.branch, "branch", "main", "branch to follow")
	fs.StringVar(&f.path, "path", "", "sub-directory of the repository that holds the manifests")
	fs.DurationVar(&f.poll, "poll", 5*time.Second, "how often to ask the remote for new commits")
	f.webhook.register(fs)
	f.dashboard.register(fs)
	fs.BoolVar(&f.allowMassPrune, "allow-mass-prune", false, "let every sync delete any share of the objects (default: a sync deleting more than half, or all, is refused)")
	fs.BoolVar(&f.autoRollback, "auto-rollback", false, "roll the source back to its last healthy commit when any Deployment's rollout misses its progress deadline (default: only Deployments annotated gitfleet.io/rollback-on-failure: \"true\"; \"false\" opts one out); the next push resumes")
	fs.BoolVar(&f.selfHeal, "self-heal", true, "revert desired keys changed outside git; false only reports them (OutOfSync) until the next commit or sync")
	fs.DurationVar(&f.health.DegradedGrace, "degraded-grace", health.DefaultDegradedGrace, "how long an object may look Degraded (a Pod failed, crash-loops or fits nowhere) before it is recorded Degraded")
	fs.DurationVar(&f.health.ProgressDeadline, "progress-deadline", health.DefaultProgressDeadline, "how long an object may stay Progressing with no change in ready Pods before it is recorded Degraded (a Deployment: its rollout with no progress, unless it sets progressDeadlineSeconds)")
	fs.StringVar(&f.clusterCIDR, "cluster-cidr", nodeipam.DefaultClusterCIDR, "the Pod network of the cluster, split into one /24 per node")
	fs.StringVar(&f.serviceCIDR, "service-cidr", api.DefaultServiceCIDR, "the virtual IPs of Services, one per Service")
	f.auth.register(fs)
}

// options are the controller's options from the flags.
func (f *sourceFlags) options() reconciler.Options {
	return reconciler.Options{AllowMassPrune: f.allowMassPrune, DisableSelfHeal: !f.selfHeal, AutoRollback: f.autoRollback}
}

func (f *sourceFlags) config(dataDir string) (source.Config, error) {
	if f.repo == "" {
		return source.Config{}, fmt.Errorf("--repo is required")
	}
	if err := checkRepoURL(f.repo); err != nil {
		return source.Config{}, err
	}
	auth, err := f.auth.auth()
	if err != nil {
		return source.Config{}, err
	}
	return source.Config{URL: f.repo, Branch: f.branch, Path: f.path, PollInterval: f.poll,
		CacheDir: filepath.Join(dataDir, "git"), Auth: auth}, nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("parse --log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// role is one long-running loop of gitfleet.
type role struct {
	name string
	run  func(ctx context.Context) error
}

// runRoles runs every role until ctx ends or one fails; a failure stops the others. Each role
// logs one line when it starts and one when it ends.
func runRoles(ctx context.Context, log *slog.Logger, roles ...role) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(roles))
	for _, r := range roles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log.Info("role started", "role", r.name)
			if err := r.run(ctx); err != nil && ctx.Err() == nil {
				log.Error("role failed", "role", r.name, "err", err)
				errs <- fmt.Errorf("run %s: %w", r.name, err)
				cancel()
				return
			}
			log.Info("role stopped", "role", r.name)
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// controllerRoles are the sync controller, the workload controller, the node IPAM controller,
// the services controller and the endpoints controller, each run while this process leads it
// (candidate names this process), reading git through repo; o gets their metrics, events and
// readiness.
func controllerRoles(st *store.Store, repo *source.Git, f *sourceFlags, candidate string, log *slog.Logger, o *observe) ([]role, error) {
	ranges, err := nodeipam.NewRanges(f.clusterCIDR, nodeipam.DefaultNodeBits)
	if err != nil {
		return nil, fmt.Errorf("--cluster-cidr: %w", err)
	}
	pool, err := services.NewPool(f.serviceCIDR)
	if err != nil {
		return nil, fmt.Errorf("--service-cidr: %w", err)
	}
	opts := f.options()
	opts.Rules = api.Rules{ServiceCIDR: pool.CIDR()}
	rec := o.recorder(st, api.EventSourceController, log)
	opts.Events, opts.Metrics = rec, o.m
	o.reg.MustRegister(metrics.NewStateCollector(st, "", 0, log))
	o.checkElected("controller", store.ElectionController, st, controllerReady(st))
	// Each term builds its loop afresh on a store fenced by that term: nothing a deposed
	// leader kept in memory can write. Events need no fence: a deposed leader's are still true.
	return []role{
		withRecorder(elected(st, store.ElectionController, candidate, log, func(st *store.Store) runner {
			return reconciler.New(st, timedRepo{repo, o.m}, log.With("role", "controller"), opts)
		}), rec),
		elected(st, store.ElectionWorkloads, candidate, log, func(st *store.Store) runner {
			return workload.NewController(st, log.With("role", "workloads"), workload.Options{Health: f.health})
		}),
		elected(st, store.ElectionNodeIPAM, candidate, log, func(st *store.Store) runner {
			return nodeipam.New(st, ranges, log.With("role", "nodeipam"))
		}),
		elected(st, store.ElectionServices, candidate, log, func(st *store.Store) runner {
			return services.New(st, log.With("role", "services"), services.Options{Pool: pool})
		}),
		elected(st, store.ElectionEndpoints, candidate, log, func(st *store.Store) runner {
			return endpoints.New(st, log.With("role", "endpoints"))
		}),
	}, nil
}

func schedulerRole(st *store.Store, candidate string, log *slog.Logger, o *observe) role {
	rec := o.recorder(st, api.EventSourceScheduler, log)
	o.checkElected("scheduler", store.ElectionScheduler, st, schedulerReady(st))
	return withRecorder(elected(st, store.ElectionScheduler, candidate, log, func(st *store.Store) runner {
		return scheduler.New(st, log.With("role", "scheduler"), scheduler.Options{Events: rec, Metrics: o.m})
	}), rec)
}

// nodeRightsRole keeps each node's rights to read ConfigMaps to those its Pods use; st must
// be admin's: it changes etcd roles.
func nodeRightsRole(st *store.Store, candidate string, log *slog.Logger) role {
	return elected(st, store.ElectionNodeRights, candidate, log, func(st *store.Store) runner {
		return noderights.New(st, log.With("role", "noderights"), noderights.Options{})
	})
}

// runner is a role's loop.
type runner interface {
	Run(ctx context.Context) error
}

// elected is the role name whose loop, built by build on a fenced store, runs only while this
// process leads the role: several control-plane hosts run every role, one of each leads.
func elected(st *store.Store, name, candidate string, log *slog.Logger, build func(st *store.Store) runner) role {
	return role{name, func(ctx context.Context) error {
		return leader.Run(ctx, st, leader.Config{Role: name, Identity: candidate}, log,
			func(ctx context.Context, f store.Fence) error { return build(st.Fenced(f)).Run(ctx) })
	}}
}

// candidateName names this process in the elections: unique among the processes of one etcd
// (two on one host have two data dirs) and the same after a restart, so that a restarted
// process takes over its crashed predecessor's terms at once (see leader.Config.Identity).
func candidateName(dataDir string) string {
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return hostname() + ":" + dataDir
}

// roleMain is the shared body of the one-role commands: parse, prepare (nil: nothing to
// prepare), connect, run.
func roleMain(ctx context.Context, name string, args []string, stderr io.Writer,
	extra func(fs *flag.FlagSet), prepare func(ctx context.Context, conn *connFlags, log *slog.Logger) error,
	build func(st *store.Store, dataDir string, log *slog.Logger, o *observe) ([]role, error)) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn connFlags
	conn.register(fs)
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	extra(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(ctx, &conn, log); err != nil {
			return err
		}
	}
	o := newObserve()
	conn.dialOpts = o.dialOptions()
	s, closeFn, err := conn.open()
	if err != nil {
		return err
	}
	defer closeFn()
	o.checkEtcd(s)
	roles, err := build(s, conn.dataDir, log, o)
	if err != nil {
		return err
	}
	return runRoles(ctx, log, roles...)
}

func runController(ctx context.Context, args []string, _, stderr io.Writer) error {
	var src sourceFlags
	return roleMain(ctx, "controller", args, stderr, src.register, nil,
		func(st *store.Store, dataDir string, log *slog.Logger, o *observe) ([]role, error) {
			cfg, err := src.config(dataDir)
			if err != nil {
				return nil, err
			}
			repo, err := source.New(cfg)
			if err != nil {
				return nil, err
			}
			roles, err := src.webhook.with(st, cfg.Branch, log)(controllerRoles(st, repo, &src, candidateName(dataDir), log, o))
			return src.dashboard.with(httpSite{st: st, repo: repo, src: &src, cfg: cfg, obs: o}, log)(roles, err)
		})
}

func runScheduler(ctx context.Context, args []string, _, stderr io.Writer) error {
	var mf metricsFlags
	return roleMain(ctx, "scheduler", args, stderr, mf.register, nil,
		func(st *store.Store, dataDir string, log *slog.Logger, o *observe) ([]role, error) {
			return append(mf.roles(o, log), schedulerRole(st, candidateName(dataDir), log, o)), nil
		})
}

func runAgent(ctx context.Context, args []string, _, stderr io.Writer) error {
	var nf nodeFlags
	var jf joinFlags
	var mf metricsFlags
	register := func(fs *flag.FlagSet) {
		nf.register(fs)
		mf.register(fs)
		fs.StringVar(&nf.serviceCIDR, "service-cidr", api.DefaultServiceCIDR, "the Services' virtual IPs, as the control plane's --service-cidr")
		jf.register(fs)
	}
	prepare := func(ctx context.Context, conn *connFlags, log *slog.Logger) error {
		return jf.join(ctx, conn, nf.name, nf.servingIPs(), log)
	}
	return roleMain(ctx, "agent", args, stderr, register, prepare,
		func(st *store.Store, dataDir string, log *slog.Logger, o *observe) ([]role, error) {
			logs, err := agentLogsServing(dataDir)
			if err != nil {
				return nil, err
			}
			r, err := agentRole(st, nf, dataDir, logs, log, o)
			if err != nil {
				return nil, err
			}
			return append(mf.roles(o, log), r), nil
		})
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "node"
	}
	return strings.ToLower(h)
}
