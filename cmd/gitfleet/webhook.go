package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gitfleet/gitfleet/internal/httpserve"
	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/webhook"
)

// webhookFlags configure the push webhook the controller serves.
type webhookFlags struct {
	listen     string
	secretFile string
}

func (f *webhookFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "webhook-listen", "", "serve push webhooks (GitHub, Gitea, GitLab) at this address, e.g. :9300; empty: off")
	fs.StringVar(&f.secretFile, "webhook-secret-file", "", "file holding the webhook secret (required with --webhook-listen)")
}

// roles returns the webhook server's role, or none when --webhook-listen is empty. A push to
// branch writes a sync request to st.
func (f *webhookFlags) roles(st *store.Store, branch string, log *slog.Logger) ([]role, error) {
	if f.listen == "" {
		return nil, nil
	}
	if f.secretFile == "" {
		return nil, errors.New("--webhook-secret-file is required with --webhook-listen")
	}
	b, err := os.ReadFile(f.secretFile)
	if err != nil {
		return nil, fmt.Errorf("read webhook secret: %w", err)
	}
	secret := bytes.TrimSpace(b)
	if len(secret) == 0 {
		return nil, fmt.Errorf("webhook secret file %s is empty", f.secretFile)
	}
	log = log.With("role", "webhook")
	send := func(ctx context.Context, commit string) (string, error) {
		t, err := request.Send(ctx, st, syncSource, request.Ask{Commit: commit}, time.Now())
		return t.ID, err
	}
	h := webhook.Handler(secret, branch, send, log)
	return []role{{"webhook", func(ctx context.Context) error { return serveWebhook(ctx, f.listen, h, log) }}}, nil
}

// with returns a function that appends the webhook's role (when configured) to the roles it
// is given, so that a caller wraps controllerRoles in one line:
//
//	roles, err := src.webhook.with(st, cfg.Branch, log)(controllerRoles(st, cfg, &src, candidate, log))
func (f *webhookFlags) with(st *store.Store, branch string, log *slog.Logger) func([]role, error) ([]role, error) {
	return func(roles []role, err error) ([]role, error) {
		if err != nil {
			return nil, err
		}
		hook, err := f.roles(st, branch, log)
		if err != nil {
			return nil, err
		}
		return append(roles, hook...), nil
	}
}

// serveWebhook serves h at addr until ctx ends, then shuts the server down.
func serveWebhook(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	log.Info("serving push webhooks", "addr", ln.Addr().String())
	if err := httpserve.Run(ctx, ln, h, nil, nil); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	return nil
}
