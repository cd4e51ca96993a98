package logserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/internal/httpserve"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// DefaultPort is where an agent serves logs unless told otherwise: the kubelet's port.
const DefaultPort = 10250

// DefaultPoll is how often a follower looks for new output (see follow).
const DefaultPoll = 250 * time.Millisecond

// Options configure a Handler.
type Options struct {
	// Node names the node in error messages.
	Node string
	// Authorize, set, serves only requests over TLS whose client certificate names an identity
	// that may read logs (see Allowed); a server with TLSConfig has verified the chain.
	Authorize bool
	// Poll is how often a follower looks for new output; 0 means DefaultPoll.
	Poll time.Duration
}

// Handler serves the logs of the containers of one node, kept under a data dir as package
// logs lays them out.
type Handler struct {
	dataDir string
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
}

// New returns the handler of the logs under dataDir:
//
//	GET /v1/logs/{namespace}/{pod}/{container}[?follow=true][&tail=N][&previous=true]
//	GET /v1/logs/{namespace}/{pod}    the Pod's containers that have a log here, as JSON
func New(dataDir string, log *slog.Logger, opts Options) *Handler {
	if opts.Poll == 0 {
		opts.Poll = DefaultPoll
	}
	h := &Handler{dataDir: dataDir, opts: opts, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /v1/logs/{namespace}/{pod}/{container}", h.serveLog)
	h.mux.HandleFunc("GET /v1/logs/{namespace}/{pod}", h.serveContainers)
	return h
}

// ServeHTTP authorizes the request, then routes it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.Authorize {
		user := clientIdentity(r)
		if !Allowed(user) {
			h.log.Warn("log request refused", "user", user, "remote", r.RemoteAddr, "path", r.URL.Path)
			httpError(w, http.StatusForbidden, fmt.Sprintf("%q may not read logs (admin, viewer and nodes may)", user))
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// clientIdentity is the CommonName of the request's verified client certificate, or "" when it
// has none.
func clientIdentity(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return r.TLS.VerifiedChains[0][0].Subject.CommonName
}

// Allowed reports whether the identity user may read any container's log: admin (the CLI's
// write commands), viewer (its read commands) and every node, so that gitfleet logs works from
// a worker host, whose only identity is its node's. Kubernetes narrows this: a kubelet's own
// credentials read no other node's logs; here any node may read all of them.
func Allowed(user string) bool {
	nodePrefix := store.NodeUser("")
	return user == store.UserAdmin || user == store.UserViewer ||
		strings.HasPrefix(user, nodePrefix) && len(user) > len(nodePrefix)
}

// TLSConfig is the server side of TLS for the log server: it presents the pair certFile,
// keyFile and requires a client certificate from the CA in caFile.
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	pool, err := pki.CAPool(caFile)
	if err != nil {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("read the log server's certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

// Serve serves h on ln, over TLS with tlsConf when set, until ctx ends; streams in flight end
// with it.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, tlsConf *tls.Config, log *slog.Logger) error {
	log.Info("serving container logs", "addr", ln.Addr().String(), "tls", tlsConf != nil)
	// A client refused in the handshake (no certificate, another CA) is its error to report.
	if err := httpserve.Run(ctx, ln, h, tlsConf, slog.NewLogLogger(log.Handler(), slog.LevelDebug)); err != nil {
		return fmt.Errorf("serve logs: %w", err)
	}
	return nil
}
