package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// keepAlive is how often an idle stream sends a comment, so that proxies and the browser keep
// the connection.
const keepAlive = 20 * time.Second

// writeWait bounds each write to a browser: one that stops reading is dropped by the hub,
// and its handler ends here rather than hang on a full socket.
const writeWait = 10 * time.Second

// events streams the States as server-sent events ("event: state"), the latest first, until
// the browser leaves or the hub drops it. The browser's EventSource reconnects by itself after
// retry milliseconds, and starts again from the latest State.
func (s *Server) events(w http.ResponseWriter, r *http.Request, _ identity) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not hold the stream back
	w.WriteHeader(http.StatusOK)
	c := s.hub.subscribe()
	defer s.hub.unsubscribe(c)
	send := func(format string, args ...any) bool {
		// The server's write timeout would end the stream; each write gets its own instead.
		if rc.SetWriteDeadline(time.Now().Add(writeWait)) != nil {
			return false
		}
		_, err := fmt.Fprintf(w, format, args...)
		return err == nil && rc.Flush() == nil
	}
	if !send("retry: 2000\n\n") {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case b, open := <-c.ch:
			if !open || !send("event: state\ndata: %s\n\n", b) {
				return
			}
		case <-tick.C:
			if !send(": keep-alive\n\n") {
				return
			}
		}
	}
}

// contextTimeout is r's context bounded by d.
func contextTimeout(r *http.Request, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), d)
}
