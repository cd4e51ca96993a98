package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/dashboard"
	"github.com/gitfleet/gitfleet/internal/httpserve"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

// dashboardFlags configure the HTTP server of up and controller: the web dashboard.
type dashboardFlags struct {
	listen, tokenFile string
	// tlsCert and tlsKey, both set, serve HTTPS only.
	tlsCert, tlsKey string
}

func (f *dashboardFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "http-listen", "", "serve the web dashboard, /metrics, /healthz and /readyz at this address, e.g. 127.0.0.1:8080 (port 0 picks one; the log says which); empty: off. Plain HTTP unless --http-tls-cert; an address that is not loopback needs --http-token-file")
	fs.StringVar(&f.tokenFile, "http-token-file", "", "the dashboard's logins, one \"TOKEN ROLE\" a line (ROLE viewer or admin; tokens of 16 characters or more); without it the dashboard answers loopback only and everyone is admin")
	fs.StringVar(&f.tlsCert, "http-tls-cert", "", "serve HTTPS only (TLS 1.2 or later) at --http-listen with this PEM certificate (the leaf, then any intermediates), re-read when it changes; needs --http-tls-key")
	fs.StringVar(&f.tlsKey, "http-tls-key", "", "the PEM private key of --http-tls-cert, re-read with it")
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
// beyond loopback without a token file: anyone who reaches it could sync and roll back. With
// --http-tls-cert and --http-tls-key it serves HTTPS only, and the session cookie is Secure.
func (f *dashboardFlags) roles(site httpSite, log *slog.Logger) ([]role, error) {
	if f.listen == "" {
		for _, fl := range [][2]string{{"--http-token-file", f.tokenFile}, {"--http-tls-cert", f.tlsCert}, {"--http-tls-key", f.tlsKey}} {
			if fl[1] != "" {
				return nil, errors.New(fl[0] + " needs --http-listen")
			}
		}
		return nil, nil
	}
	cfg, err := f.config(site)
	if err != nil {
		return nil, err
	}
	log = log.With("role", "http")
	cfg.Log = log
	tlsConf, err := f.tlsConfig(log)
	if err != nil {
		return nil, err
	}
	cfg.Secure = tlsConf != nil
	dash := dashboard.New(site.st, cfg)
	mux := http.NewServeMux()
	// /metrics, /healthz and /readyz, beside the dashboard, outside its login (see register).
	site.obs.register(mux, cfg.Tokens)
	mux.Handle("/", dash)
	return []role{{"http", func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { dash.Run(ctx) })
		err := serveHTTP(ctx, f.listen, mux, tlsConf, log)
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
	cfg := dashboard.Config{Repo: source.RedactURL(site.cfg.URL), Rules: rules}
	if site.repo != nil { // a nil *source.Git in the interface would not read as none
		cfg.Commits = site.repo
	}
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

// tlsConfig returns the TLS of --http-tls-cert and --http-tls-key, or nil without them, and then
// warns when the address is beyond loopback (allowed, as Argo CD's --insecure). It reads the pair
// now, so that a bad one stops the start.
func (f *dashboardFlags) tlsConfig(log *slog.Logger) (*tls.Config, error) {
	switch {
	case f.tlsCert == "" && f.tlsKey == "":
		if host, _, _ := net.SplitHostPort(f.listen); !dashboard.IsLoopback(host) {
			log.Warn("the dashboard serves plain HTTP beyond loopback: tokens and session cookies travel in clear text; pass --http-tls-cert and --http-tls-key, or put a TLS proxy in front")
		}
		return nil, nil
	case f.tlsKey == "":
		return nil, errors.New("--http-tls-cert needs --http-tls-key, the certificate's private key")
	case f.tlsCert == "":
		return nil, errors.New("--http-tls-key needs --http-tls-cert, the certificate of the key")
	}
	certs, err := dashboard.LoadCertFiles(f.tlsCert, f.tlsKey, log, time.Now)
	if err != nil {
		return nil, fmt.Errorf("--http-tls-cert, --http-tls-key: %w", err)
	}
	return certs.TLSConfig(), nil
}

// serveHTTP serves h at addr until ctx ends, over TLS with tlsConf (nil: plain HTTP).
func serveHTTP(ctx context.Context, addr string, h http.Handler, tlsConf *tls.Config, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	scheme := "http"
	var errorLog *stdlog.Logger
	if tlsConf != nil {
		// Failed handshakes (a plain HTTP request, a client that distrusts the certificate)
		// are the client's business: debug lines, not the server's stderr.
		scheme, errorLog = "https", slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	}
	log.Info("serving the dashboard", "url", scheme+"://"+ln.Addr().String()+"/")
	if err := httpserve.Run(ctx, ln, h, tlsConf, errorLog); err != nil {
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
