package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// This file is who may do what: a token logs in (a form sets a session cookie, or a bearer
// header goes with each request), the session's role decides, and every action carries the
// session's CSRF token in a header. Without a token file the dashboard serves loopback only and
// everyone is admin, but actions still need the token of a session the page was given.

// The cookie, header and form field names of the login.
const (
	sessionCookie = "gitfleet_session"
	csrfHeader    = "X-CSRF-Token"
	tokenField    = "token"
)

// maxSessions bounds the sessions kept; past it the oldest is forgotten.
const maxSessions = 10000

// session is one login: its role, its CSRF token and when it ends.
type session struct {
	id, csrf string
	role     Role
	expires  time.Time
}

// sessions are the logins, in memory: a restart logs everyone out.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	ttl  time.Duration
}

// create starts a session of role at now.
func (s *sessions) create(role Role, now time.Time) *session {
	se := &session{id: rand.Text(), csrf: rand.Text(), role: role, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= maxSessions {
		s.evictLocked(now)
	}
	s.byID[se.id] = se
	return se
}

// evictLocked forgets the expired sessions, and the oldest one when none has expired.
func (s *sessions) evictLocked(now time.Time) {
	var oldest *session
	for id, se := range s.byID {
		if now.After(se.expires) {
			delete(s.byID, id)
		} else if oldest == nil || se.expires.Before(oldest.expires) {
			oldest = se
		}
	}
	if len(s.byID) >= maxSessions && oldest != nil {
		delete(s.byID, oldest.id)
	}
}

// get returns the live session id names; nil when there is none.
func (s *sessions) get(id string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.byID[id]
	if se == nil || now.After(se.expires) {
		delete(s.byID, id)
		return nil
	}
	return se
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// identity is who sent a request: a role, and the session when a cookie named one (nil for a
// bearer token, which a browser never sends on its own, so it needs no CSRF token).
type identity struct {
	role    Role
	session *session
}

// identify returns who sent r; ok is false when r names no valid token or session. In open
// mode (no token file) a request without a session gets a new admin session, set as a cookie.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (identity, bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		tok, found := strings.CutPrefix(auth, "Bearer ")
		role, ok := s.cfg.Tokens.Role(strings.TrimSpace(tok))
		return identity{role: role}, found && ok
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		if se := s.sessions.get(c.Value, s.cfg.Now()); se != nil {
			return identity{role: se.role, session: se}, true
		}
	}
	if s.cfg.Tokens != nil {
		return identity{}, false
	}
	se := s.sessions.create(RoleAdmin, s.cfg.Now())
	s.setCookie(w, se)
	return identity{role: se.role, session: se}, true
}

// setCookie gives the browser se's cookie: not readable by scripts, never sent by another
// site's page, and only over TLS when the dashboard serves it.
func (s *Server) setCookie(w http.ResponseWriter, se *session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: se.id, Path: "/", Expires: se.expires,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

// clearCookie ends the browser's cookie.
func (s *Server) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

// checkCSRF reports whether an action of id carries its session's CSRF token; a bearer token
// needs none.
func checkCSRF(r *http.Request, id identity) bool {
	if id.session == nil {
		return true
	}
	got := r.Header.Get(csrfHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(id.session.csrf)) == 1
}

// loopbackHost reports whether the Host of r names the loopback interface. Without a token
// file the dashboard answers only such requests, so that a page of another site whose name
// an attacker points at 127.0.0.1 (DNS rebinding) is refused.
func loopbackHost(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return IsLoopback(host)
}

// IsLoopback reports whether host, a name or an IP, is the loopback interface: "localhost"
// or a loopback IP.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether a request's Origin, when a browser sent one, is the dashboard's
// own: an action from another site's page is refused even before its CSRF token is checked.
// The scheme may be either: behind a TLS proxy the page is https:// while the request reaching
// the dashboard is plain HTTP.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme, host, ok := strings.Cut(origin, "://")
	return ok && (strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "http")) && strings.EqualFold(host, r.Host)
}
