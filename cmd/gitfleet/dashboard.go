package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/gitfleet/gitfleet/dashboard"
	"github.com/gitfleet/gitfleet/internal/httpserve"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

// dashboardFlags configure the HTTP server of up and controller: the web dashboard.
type dashboardFlags struct {
	listen, tokenFile string
}

func (f *dashboardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "http-listen", "", "serve the web dashboard, /metrics, /healthz and /readyz at this address, e.g. 127.0.0.1:8080 (port 0 picks one; the log says which); empty: off. An address that is not loopback needs --http-token-file")
	fs.StringVar(&f.tokenFile, "http-token-file", "", "the dashboard's logins, one \"TOKEN ROLE\" a line (ROLE viewer or admin; tokens of 16 characters or more); without it the dashboard answers loopback only and everyone is admin")
}

// httpSite is what the dashboard needs from the controller's wiring: its store (one that may
// write sync requests and pins), the controller's own git source and its settings.
type httpSite struct {
	st   *store.Store
	repo *source.Git
	src  *sourceFlags
	cfg  source.Config
	// obs serves /metrics, /healthz and /readyz beside the dashboard (nil: none).
	obs *observe
}

// roles returns the HTTP server's role, or none without --http-listen. It refuses an address
// beyond loopback without a token file: anyone who reaches it could sync and roll back.
func (f *dashboardFlags) roles(site httpSite, log *slog.Logger) ([]role, error) {
	if f.listen == "" {
		if f.tokenFile != "" {
			return nil, errors.New("--http-token-file needs --http-listen")
		}
		return nil, nil
	}
	cfg, err := f.config(site)
	if err != nil {
		return nil, err
	}
	log = log.With("role", "http")
	cfg.Log = log
	dash := dashboard.New(site.st, cfg)
	mux := http.NewServeMux()
	// /metrics, /healthz and /readyz, beside the dashboard, outside its login (see register).
	site.obs.register(mux, cfg.Tokens)
	mux.Handle("/", dash)
	return []role{{"http", func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { dash.Run(ctx) })
		err := serveHTTP(ctx, f.listen, mux, log)
		cancel()
		wg.Wait()
		return err
	}}}, nil
}

// config checks the flags and returns the dashboard's configuration.
func (f *dashboardFlags) config(site httpSite) (dashboard.Config, error) {
	host, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		return dashboard.Config{}, fmt.Errorf("--http-listen %q: want HOST:PORT: %w", f.listen, err)
	}
	rules, err := (&rulesFlags{serviceCIDR: site.src.serviceCIDR}).rules()
	if err != nil {
		return dashboard.Config{}, err
	}
	cfg := dashboard.Config{Repo: source.RedactURL(site.cfg.URL), Commits: site.repo, Rules: rules}
	if f.tokenFile != "" {
		if cfg.Tokens, err = dashboard.ReadTokens(f.tokenFile); err != nil {
			return dashboard.Config{}, fmt.Errorf("--http-token-file: %w", err)
		}
	}
	if cfg.Tokens == nil && !dashboard.IsLoopback(host) {
		return dashboard.Config{}, fmt.Errorf("--http-listen %s is not a loopback address, and without --http-token-file anyone who reaches it could sync and roll back: "+
			"pass --http-token-file FILE (lines \"TOKEN ROLE\", ROLE viewer or admin), or listen on 127.0.0.1", f.listen)
	}
	return cfg, nil
}

// serveHTTP serves h at addr until ctx ends.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	log.Info("serving the dashboard", "url", "http://"+ln.Addr().String()+"/")
	if host, _, _ := net.SplitHostPort(addr); !dashboard.IsLoopback(host) {
		log.Warn("the dashboard serves plain HTTP beyond loopback: tokens and sessions cross the network in clear; put a TLS proxy in front")
	}
	if err := httpserve.Run(ctx, ln, h, nil, nil); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

// with returns a function that appends the dashboard's role (when configured) to the roles it
// is given, as webhookFlags.with does.
func (f *dashboardFlags) with(site httpSite, log *slog.Logger) func([]role, error) ([]role, error) {
	return func(roles []role, err error) ([]role, error) {
		if err != nil {
			return nil, err
		}
		http, err := f.roles(site, log)
		if err != nil {
			return nil, err
		}
		return append(roles, http...), nil
	}
}
