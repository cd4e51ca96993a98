package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/dashboard"
	"github.com/gitfleet/gitfleet/events"
	"github.com/gitfleet/gitfleet/healthz"
	"github.com/gitfleet/gitfleet/internal/httpserve"
	"github.com/gitfleet/gitfleet/metrics"
	"github.com/gitfleet/gitfleet/reconciler"
	"github.com/gitfleet/gitfleet/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
)

// observe is what a process tells of itself: the Prometheus registry its roles' metrics are
// on, and their readiness checks. A nil *observe tells nothing.
type observe struct {
	reg    *prometheus.Registry
	m      *metrics.Metrics
	checks *healthz.Checks
}

func newObserve() *observe {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &observe{reg: reg, m: metrics.New(reg), checks: healthz.New(0)}
}

// dialOptions time the etcd requests of a client dialled with them.
func (o *observe) dialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(o.m.EtcdInterceptor())}
}

// recorder returns the event recorder of source, writing as st.
func (o *observe) recorder(st *store.Store, source string, log *slog.Logger) *events.Recorder {
	return events.New(st, source, events.Options{Dropped: o.m.EventsDropped(source), Log: log})
}

// withRecorder is r that also runs rec (nil: none) while it runs.
func withRecorder(r role, rec *events.Recorder) role {
	if rec == nil {
		return r
	}
	run := r.run
	r.run = func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { rec.Run(ctx) })
		defer wg.Wait()
		defer cancel()
		return run(ctx)
	}
	return r
}

// check adds the readiness check of role name.
func (o *observe) check(name string, c healthz.Check) {
	if o != nil {
		o.checks.Add(name, c)
	}
}

// checkEtcd adds the check that etcd answers st.
func (o *observe) checkEtcd(st *store.Store) {
	o.check("etcd", func(ctx context.Context) error {
		_, err := st.Revision(ctx)
		return err
	})
}

// checkElected adds the check of an elected role: a candidate of its election lives (this
// process or another leads), and ready, when not nil, says what the leader has done.
func (o *observe) checkElected(name, election string, st *store.Store, ready func(ctx context.Context) error) {
	o.check(name, func(ctx context.Context) error {
		ok, err := st.LeaderLives(ctx, election)
		switch {
		case err != nil:
			return err
		case !ok:
			return errors.New("no leader elected yet")
		case ready != nil:
			return ready(ctx)
		}
		return nil
	})
}

// controllerReady: the source's sync status exists, so the controller synced once.
func controllerReady(st *store.Store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := st.GetSync(ctx, api.DefaultSource)
		if errors.Is(err, store.ErrNotFound) {
			return errors.New("not synced yet")
		}
		return err
	}
}

// schedulerReady: the scheduler recorded the nodes, which it does once its caches listed them.
func schedulerReady(st *store.Store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := st.GetNodesStatus(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return errors.New("caches not primed yet: no record of the nodes")
		}
		return err
	}
}

// checkNode adds the agent's check: its node is registered and its heartbeat lives.
func (o *observe) checkNode(st *store.Store, node string) {
	o.check("agent", func(ctx context.Context) error {
		registered, live, err := st.NodeLive(ctx, node)
		switch {
		case err != nil:
			return err
		case !registered:
			return fmt.Errorf("node %s not registered yet", node)
		case !live:
			return fmt.Errorf("node %s: no live heartbeat", node)
		}
		return nil
	})
}

// timedRepo times the controller's fetches.
type timedRepo struct {
	reconciler.Repo
	m *metrics.Metrics
}

func (r timedRepo) Fetch(ctx context.Context) (string, error) {
	start := time.Now()
	defer func() { r.m.GitFetch(time.Since(start)) }()
	return r.Repo.Fetch(ctx)
}

// register serves /metrics, /healthz and /readyz on mux. /healthz and /readyz answer anyone;
// with tokens (a dashboard's logins), /metrics answers loopback clients and bearers of a token.
func (o *observe) register(mux *http.ServeMux, tokens *dashboard.Tokens) {
	if o == nil {
		return
	}
	o.checks.Register(mux)
	h := promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tokens != nil && !loopbackClient(r) {
			tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if _, ok := tokens.Role(strings.TrimSpace(tok)); !ok {
				w.Header().Set("WWW-Authenticate", "Bearer")
				http.Error(w, "send Authorization: Bearer TOKEN, a token of --http-token-file", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
}

// loopbackClient reports whether r comes from this host's loopback.
func loopbackClient(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	return err == nil && dashboard.IsLoopback(host)
}

// metricsFlags are the scheduler's and the agent's own HTTP server: metrics and probes.
type metricsFlags struct{ listen string }

func (f *metricsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "metrics-listen", "", "serve /metrics, /healthz and /readyz at this address, e.g. 127.0.0.1:9100 (plain HTTP, no login: counts and node names only; port 0 picks one, the log says which); empty: off")
}

// roles returns the server's role, or none without --metrics-listen.
func (f *metricsFlags) roles(o *observe, log *slog.Logger) []role {
	if f.listen == "" {
		return nil
	}
	mux := http.NewServeMux()
	o.register(mux, nil)
	log = log.With("role", "metrics")
	return []role{{"metrics", func(ctx context.Context) error {
		ln, err := net.Listen("tcp", f.listen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
		return httpserve.Run(ctx, ln, mux, nil, nil)
	}}}
}
