package healthz

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Check reports why a role is not ready; nil when it is.
type Check func(ctx context.Context) error

// Checks are the readiness checks of a process's roles, by name.
type Checks struct {
	mu      sync.Mutex
	checks  map[string]Check
	timeout time.Duration
}

// New returns no checks; each runs at most timeout per request (2s when 0).
func New(timeout time.Duration) *Checks {
	return &Checks{checks: map[string]Check{}, timeout: cmp.Or(timeout, 2*time.Second)}
}

// Add sets the check of the role name, replacing one of the same name.
func (c *Checks) Add(name string, check Check) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks[name] = check
}

// Ready runs every check at once and returns each role's answer ("ok", or why not) and
// whether all are ok.
func (c *Checks) Ready(ctx context.Context) (map[string]string, bool) {
	c.mu.Lock()
	checks := make(map[string]Check, len(c.checks))
	for n, ch := range c.checks {
		checks[n] = ch
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	out, ok := make(map[string]string, len(checks)), true
	for name, check := range checks {
		wg.Go(func() {
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			out[name] = "ok"
			if err != nil {
				out[name], ok = err.Error(), false
			}
		})
	}
	wg.Wait()
	return out, ok
}

// Register serves GET /healthz (200 "ok" while the process answers) and GET /readyz (the
// answers of Ready as a JSON object, 200 when all are ok, else 503) on mux.
func (c *Checks) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		answers, ok := c.Ready(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(answers)
	})
}
