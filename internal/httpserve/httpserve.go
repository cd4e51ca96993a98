// Package httpserve runs an HTTP server for as long as a context lives, then shuts it down
// gracefully; the webhook and the join server use it.
package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
)

// shutdownGrace is how long requests in flight may take to finish once ctx ends.
const shutdownGrace = 5 * time.Second

// Timeouts bound what a slow or idle client may hold: a connection, and a goroutine with it.
// The write timeout runs from the end of the request's headers, so it covers reading the body
// too and must exceed readTimeout; an idle keep-alive connection is closed after idleTimeout.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Run serves h on ln until ctx ends, then shuts the server down, waiting for the requests in
// flight, and returns nil. With tlsConf it serves TLS. errorLog, when set, takes the server's
// own errors (such as failed handshakes). Requests get ctx as their base context, and the
// server bounds how long a client may take to send a request, to read the answer, and to keep
// an idle connection.
func Run(ctx context.Context, ln net.Listener, h http.Handler, tlsConf *tls.Config, errorLog *log.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
		TLSConfig: tlsConf, ErrorLog: errorLog, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	var err error
	if tlsConf != nil {
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	}
	<-done // Shutdown has finished the requests in flight
	return nil
}
