package dashboard

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/reconciler"
	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/store"
)

//go:embed static
var staticFiles embed.FS

// Store is what the dashboard reads and writes; *store.Store implements it. It watches through
// CacheSource, asks for syncs and rollbacks through request, and plans the pending commit
// against the live desired objects.
type Store interface {
	store.CacheSource
	request.Store
	reconciler.DesiredReader
}

var _ Store = (*store.Store)(nil)

// Config configures a Server; a zero field takes the default its comment names.
type Config struct {
	// Source is the sync source shown (api.DefaultSource); Repo its repository, without
	// credentials.
	Source, Repo string
	// Tokens are who may log in; nil serves everyone as admin, and only requests to a loopback
	// host name (serve it on a loopback address only).
	Tokens *Tokens
	// Secure marks the session cookie for TLS only: set it when serving TLS.
	Secure bool
	// Commits reads the manifests of commits for the diffs; nil shows none.
	Commits Commits
	// Rules are the controller's, which the diffs load commits with.
	Rules api.Rules
	Log   *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
	// SessionTTL is how long a login lasts (12h).
	SessionTTL time.Duration
	// ClientBuffer is how many States a browser may fall behind before it is dropped (16).
	ClientBuffer int
	// MinInterval spaces the States sent, so that a burst of changes costs one (100ms; a
	// negative value: no spacing).
	MinInterval time.Duration
}

func (c Config) withDefaults() Config {
	c.Source = cmp.Or(c.Source, api.DefaultSource)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.SessionTTL = cmp.Or(c.SessionTTL, 12*time.Hour)
	c.ClientBuffer = cmp.Or(c.ClientBuffer, 16)
	if c.MinInterval == 0 {
		c.MinInterval = 100 * time.Millisecond
	}
	return c
}

// Server is the dashboard: an http.Handler, and the watches that Run keeps.
type Server struct {
	cfg      Config
	st       Store
	hub      *hub
	sessions *sessions
	diffs    *diffs
	mux      *http.ServeMux
	login    *template.Template
}

// New returns the dashboard of st; it shows nothing until Run has listed.
func New(st Store, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, st: st, hub: newHub(st, cfg), sessions: &sessions{byID: map[string]*session{}, ttl: cfg.SessionTTL},
		diffs: newDiffs(st, cfg), mux: http.NewServeMux(),
		login: template.Must(template.ParseFS(staticFiles, "static/login.html"))}
	s.routes()
	return s
}

// Run keeps the watches the page is fed from until ctx ends.
func (s *Server) Run(ctx context.Context) { s.hub.run(ctx) }

// handler is a route that knows who asks.
type handler func(w http.ResponseWriter, r *http.Request, id identity)

func (s *Server) routes() {
	static, _ := fs.Sub(staticFiles, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.loginSubmit)
	s.mux.Handle("GET /{$}", s.page(s.index))
	s.mux.Handle("POST /logout", s.guard(RoleViewer, true, s.logout))
	s.mux.Handle("GET /api/state", s.guard(RoleViewer, false, s.state))
	s.mux.Handle("GET /api/events", s.guard(RoleViewer, false, s.events))
	s.mux.Handle("GET /api/diff", s.guard(RoleViewer, false, s.diff))
	s.mux.Handle("POST /api/sync", s.guard(RoleAdmin, true, s.sync))
	s.mux.Handle("POST /api/rollback", s.guard(RoleAdmin, true, s.rollback))
}

// ServeHTTP serves the page, its API and the login, with headers that keep the page's scripts
// its own and the page out of other sites' frames.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if s.cfg.Tokens == nil && !loopbackHost(r) {
		http.Error(w, "this dashboard has no token file, so it answers only requests to localhost or a loopback address", http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// guard lets a request through when its sender has role need and, for an action, a CSRF token
// and no foreign Origin: 401 without a login, 403 otherwise.
func (s *Server) guard(need Role, action bool, next handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		id, ok := s.identify(w, r)
		switch {
		case !ok:
			writeError(w, http.StatusUnauthorized, "log in first: POST /login with a token, or send Authorization: Bearer TOKEN")
		case !id.role.can(need):
			writeError(w, http.StatusForbidden, "role "+string(id.role)+" may not do this: it needs "+string(need))
		case action && (!sameOrigin(r) || !checkCSRF(r, id)):
			writeError(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" header (reload the page)")
		default:
			next(w, r, id)
		}
	})
}

// page serves a page to a viewer, and sends anyone else to the login.
func (s *Server) page(next handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		id, ok := s.identify(w, r)
		if !ok || !id.role.can(RoleViewer) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, r, id)
	})
}

func (s *Server) index(w http.ResponseWriter, r *http.Request, _ identity) {
	http.ServeFileFS(w, r, staticFiles, "static/index.html")
}

// writeJSON answers v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg} with status code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
