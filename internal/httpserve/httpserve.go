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

// Run serves h on ln until ctx ends, then shuts the server down, waiting for the requests in
// flight, and returns nil. With tlsConf it serves TLS. errorLog, when set, takes the server's
// own errors (such as failed handshakes). Requests get ctx as their base context, and the
// server bounds how long a client may take to send a request.
func Run(ctx context.Context, ln net.Listener, h http.Handler, tlsConf *tls.Config, errorLog *log.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
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
