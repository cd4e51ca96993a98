package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/store"
)

// me is who the page's user is: its role, the CSRF token its actions send, and whether the
// dashboard asks for a login at all (open: everyone is admin, on loopback only).
type me struct {
	Role Role   `json:"role"`
	CSRF string `json:"csrf,omitempty"`
	Open bool   `json:"open"`
}

func (s *Server) me(id identity) me {
	m := me{Role: id.role, Open: s.cfg.Tokens == nil}
	if id.session != nil {
		m.CSRF = id.session.csrf
	}
	return m
}

// stateTimeout bounds the wait for the first State of a dashboard that just started.
const stateTimeout = 10 * time.Second

// state answers the latest State and who asks: what the page loads first.
func (s *Server) state(w http.ResponseWriter, r *http.Request, id identity) {
	ctx, cancel := contextTimeout(r, stateTimeout)
	defer cancel()
	b, err := s.hub.snapshot(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Me    me              `json:"me"`
		State json.RawMessage `json:"state"`
	}{s.me(id), b})
}

// loginPage shows the token form.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = s.login.Execute(w, struct{ Error string }{msg})
}

// maxLoginBody bounds the login form: a token and little else.
const maxLoginBody = 4 << 10

// loginSubmit checks the token of the form and, when it is known, starts a session and goes to
// the page.
func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if !sameOrigin(r) {
		s.renderLogin(w, http.StatusForbidden, "This form must be sent from the dashboard's own page.")
		return
	}
	if s.cfg.Tokens == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther) // open: nothing to log in to
		return
	}
	role, ok := s.cfg.Tokens.Role(r.PostFormValue(tokenField))
	if !ok {
		s.cfg.Log.Warn("dashboard login refused: unknown token", "remote", r.RemoteAddr)
		s.renderLogin(w, http.StatusUnauthorized, "Unknown token.")
		return
	}
	s.setCookie(w, s.sessions.create(role, s.cfg.Now()))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, id identity) {
	if id.session != nil {
		s.sessions.remove(id.session.id)
	}
	s.clearCookie(w)
	writeJSON(w, http.StatusOK, map[string]string{"result": "logged out"})
}

// maxActionBody bounds an action's JSON.
const maxActionBody = 4 << 10

// actionTimeout bounds writing a request to etcd, as `gitfleet sync` does.
const actionTimeout = 5 * time.Second

// syncAsk is the body of POST /api/sync: Resume removes a rollback's pin first, as
// `gitfleet sync --resume`.
type syncAsk struct {
	Resume bool `json:"resume"`
}

// sync asks the controller for a pass, as `gitfleet sync` without --wait does; the page shows
// the answer when the controller records it.
func (s *Server) sync(w http.ResponseWriter, r *http.Request, id identity) {
	var ask syncAsk
	if !readJSON(w, r, &ask) {
		return
	}
	ctx, cancel := contextTimeout(r, actionTimeout)
	defer cancel()
	t, err := request.Send(ctx, s.st, s.cfg.Source, request.Ask{Pin: store.PinChange{Remove: ask.Resume}}, s.cfg.Now())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.cfg.Log.Info("dashboard: sync requested", "id", t.ID, "resume", ask.Resume, "role", id.role)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": t.ID})
}

// rollbackAsk is the body of POST /api/rollback: a commit of the history (or a unique prefix).
type rollbackAsk struct {
	Commit string `json:"commit"`
}

// rollback pins the source at a commit of its history, as `gitfleet rollback` does (the same
// request.Rollback), without waiting: the page shows the pin and the controller's answer.
func (s *Server) rollback(w http.ResponseWriter, r *http.Request, id identity) {
	var ask rollbackAsk
	if !readJSON(w, r, &ask) {
		return
	}
	ctx, cancel := contextTimeout(r, actionTimeout)
	defer cancel()
	commit, t, err := request.Rollback(ctx, s.st, s.cfg.Source, ask.Commit, s.cfg.Now())
	switch {
	case errors.Is(err, request.ErrUnknownCommit):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	s.cfg.Log.Info("dashboard: rollback requested", "commit", commit.Hash, "id", t.ID, "role", id.role)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": t.ID, "commit": commit.Hash})
}

// readJSON decodes an action's body into v; false (answered 400 or 415) when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json", ct))
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxActionBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) { // no body: the defaults
		writeError(w, http.StatusBadRequest, "decode the request: "+err.Error())
		return false
	}
	return true
}
