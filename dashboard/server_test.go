package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

const (
	viewerToken = "viewer-token-0123456789"
	adminToken  = "admin-token-0123456789ab"
	goodCommit  = "aaaa000000000000000000000000000000000001"
)

// testServer runs a dashboard on a real etcd, with the token file's tokens (none: open), and a
// history holding goodCommit, synced.
func testServer(t *testing.T, tokens string, cfg Config) (*httptest.Server, *store.Store) {
	t.Helper()
	st := etcdtest.Start(t)
	commitSync(t, st, goodCommit, "first")
	if tokens != "" {
		tk, err := ParseTokens("tokens", []byte(tokens))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Tokens = tk
	}
	s := New(st, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	return srv, st
}

// commitSync records a sync of commit in etcd, as the controller does.
func commitSync(t *testing.T, st *store.Store, commit, msg string) {
	t.Helper()
	info := api.CommitInfo{Hash: commit, Message: msg, Author: "Ada"}
	status := api.SyncStatus{Source: api.DefaultSource, SeenCommit: commit, AppliedCommit: commit, Sync: api.SyncSynced, Commit: info}
	_, err := st.CommitSync(context.Background(), store.SyncRecord{Status: status,
		History: &api.HistoryEntry{Commit: info, Result: api.SyncSynced, Time: "2025-01-01T00:00:00Z"}})
	if err != nil {
		t.Fatal(err)
	}
}

// client is a browser: a cookie jar, and the CSRF token the page was given.
type client struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: srv.URL, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// login posts token to the login form; it returns the answer's status after redirects.
func (c *client) login(token string) int {
	resp, err := c.http.PostForm(c.base+"/login", url.Values{tokenField: {token}})
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// do sends a request; header adds headers. It returns the status and body.
func (c *client) do(method, path, body string, header map[string]string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if host := header["Host"]; host != "" {
		req.Host = host
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// loadState reads /api/state and keeps the CSRF token; it returns the status.
func (c *client) loadState() (int, State) {
	c.t.Helper()
	code, body := c.do("GET", "/api/state", "", nil)
	var out struct {
		Me    me    `json:"me"`
		State State `json:"state"`
	}
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			c.t.Fatalf("decode state: %v: %s", err, body)
		}
		c.csrf = out.Me.CSRF
	}
	return code, out.State
}

func (c *client) action(path, body string) int {
	c.t.Helper()
	code, _ := c.do("POST", path, body, map[string]string{csrfHeader: c.csrf})
	return code
}

func TestAuthMatrix(t *testing.T) {
	srv, _ := testServer(t, viewerToken+" viewer\n# a comment\n"+adminToken+" admin\n", Config{})
	rollback := `{"commit":"` + goodCommit[:8] + `"}`
	for _, tc := range []struct {
		who                  string
		token                string
		read, sync, rollback int
	}{
		{"nobody", "", http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized},
		{"wrong token", "not-a-token-0123456789", http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized},
		{"viewer", viewerToken, http.StatusOK, http.StatusForbidden, http.StatusForbidden},
		{"admin", adminToken, http.StatusOK, http.StatusAccepted, http.StatusAccepted},
	} {
		t.Run(tc.who+"/session", func(t *testing.T) {
			c := newClient(t, srv)
			if tc.token != "" {
				c.login(tc.token)
			}
			code, _ := c.loadState()
			got := [3]int{code, c.action("/api/sync", "{}"), c.action("/api/rollback", rollback)}
			if want := [3]int{tc.read, tc.sync, tc.rollback}; got != want {
				t.Fatalf("read, sync, rollback = %v, want %v", got, want)
			}
		})
		t.Run(tc.who+"/bearer", func(t *testing.T) {
			c := newClient(t, srv)
			h := map[string]string{}
			if tc.token != "" {
				h["Authorization"] = "Bearer " + tc.token
			}
			read, _ := c.do("GET", "/api/state", "", h)
			sync, _ := c.do("POST", "/api/sync", "{}", h)
			rb, _ := c.do("POST", "/api/rollback", rollback, h)
			if got, want := [3]int{read, sync, rb}, [3]int{tc.read, tc.sync, tc.rollback}; got != want {
				t.Fatalf("read, sync, rollback = %v, want %v", got, want)
			}
		})
	}
}

func TestLoginPage(t *testing.T) {
	srv, _ := testServer(t, adminToken+" admin\n", Config{})
	c := newClient(t, srv)
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code, _ := c.do("GET", "/", "", nil); code != http.StatusSeeOther {
		t.Fatalf("GET / without a login: %d, want a redirect to /login", code)
	}
	if code := c.login("wrong-token-0123456789"); code != http.StatusUnauthorized {
		t.Fatalf("login with a wrong token: %d, want 401", code)
	}
	resp, err := c.http.PostForm(c.base+"/login", url.Values{tokenField: {adminToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{sessionCookie + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if code, _ := c.do("GET", "/", "", nil); code != http.StatusOK {
		t.Fatalf("GET / logged in: %d", code)
	}
	if code, _ := c.loadState(); code != http.StatusOK || c.action("/logout", "{}") != http.StatusOK {
		t.Fatal("logout failed")
	}
	if code, _ := c.loadState(); code != http.StatusUnauthorized {
		t.Fatalf("state after logout: %d, want 401", code)
	}
}

func TestCSRF(t *testing.T) {
	srv, _ := testServer(t, adminToken+" admin\n", Config{})
	c := newClient(t, srv)
	c.login(adminToken)
	c.loadState()
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"missing", nil, http.StatusForbidden},
		{"wrong", map[string]string{csrfHeader: "AAAAAAAAAAAAAAAAAAAAAAAAAA"}, http.StatusForbidden},
		{"foreign origin", map[string]string{csrfHeader: c.csrf, "Origin": "http://evil.example"}, http.StatusForbidden},
		{"right", map[string]string{csrfHeader: c.csrf}, http.StatusAccepted},
		{"right, own origin", map[string]string{csrfHeader: c.csrf, "Origin": c.base}, http.StatusAccepted},
		{"right, own host over https (a TLS proxy)", map[string]string{csrfHeader: c.csrf, "Origin": strings.Replace(c.base, "http://", "https://", 1)}, http.StatusAccepted},
		{"own host, another scheme", map[string]string{csrfHeader: c.csrf, "Origin": strings.Replace(c.base, "http://", "ftp://", 1)}, http.StatusForbidden},
		{"null origin", map[string]string{csrfHeader: c.csrf, "Origin": "null"}, http.StatusForbidden},
	} {
		for _, path := range []string{"/api/sync", "/api/rollback"} {
			code, body := c.do("POST", path, `{"commit":"`+goodCommit+`"}`, tc.header)
			if path == "/api/sync" {
				code, body = c.do("POST", path, `{}`, tc.header)
			}
			if code != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.name, path, code, body, tc.want)
			}
		}
	}
	if code, body := c.do("POST", "/api/rollback", `{"commit":"bbbb"}`, map[string]string{csrfHeader: c.csrf}); code != http.StatusBadRequest || !strings.Contains(body, "not in the history") {
		t.Errorf("rollback to an unknown commit: %d %s, want 400 naming it", code, body)
	}
}

// TestOpenLoopback: without a token file everyone is admin, but only on a loopback host name,
// and actions still need the CSRF token of the session the page was given.
func TestOpenLoopback(t *testing.T) {
	srv, st := testServer(t, "", Config{})
	c := newClient(t, srv)
	if code, _ := c.do("GET", "/api/state", "", map[string]string{"Host": "attacker.example:80"}); code != http.StatusForbidden {
		t.Fatalf("open dashboard asked as attacker.example: %d, want 403", code)
	}
	if code := c.action("/api/sync", "{}"); code != http.StatusForbidden {
		t.Fatalf("sync without the page's CSRF token: %d, want 403", code)
	}
	code, _ := c.loadState()
	if code != http.StatusOK || c.csrf == "" {
		t.Fatalf("state: %d, csrf %q", code, c.csrf)
	}
	if code := c.action("/api/rollback", `{"commit":"`+goodCommit+`"}`); code != http.StatusAccepted {
		t.Fatalf("rollback on the open dashboard: %d, want 202", code)
	}
	ctl, err := st.GetControl(context.Background(), api.DefaultSource)
	if err != nil || ctl.Pin == nil || ctl.Pin.Commit != goodCommit || ctl.Request == nil {
		t.Fatalf("after the rollback button: control %+v, %v; want a pin at %s and a request", ctl, err, goodCommit)
	}
}

// sse reads server-sent events of one stream.
type sse struct {
	resp *http.Response
	r    *bufio.Reader
}

func openEvents(t *testing.T, c *client) *sse {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/api/events", nil)
	resp, err := (&http.Client{Jar: c.http.Jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sse{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next returns the data of the next "state" event.
func (s *sse) next() (State, error) {
	event := ""
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return State{}, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "state":
			var st State
			return st, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &st)
		}
	}
}

func TestEventsDeliverEtcdChange(t *testing.T) {
	srv, st := testServer(t, "", Config{})
	c := newClient(t, srv)
	c.loadState()
	ev := openEvents(t, c)
	first, err := ev.next()
	if err != nil || first.Source.AppliedCommit != goodCommit {
		t.Fatalf("first event: applied %q, %v; want %s", first.Source.AppliedCommit, err, goodCommit)
	}
	const next = "cccc000000000000000000000000000000000002"
	commitSync(t, st, next, "second")
	// Each resource has its own watch: a state may carry the new sync status a moment before
	// its history entry, so wait for the state that has both.
	got := make(chan State, 1)
	go func() {
		for {
			s, err := ev.next()
			if err != nil || s.Source.AppliedCommit == next && len(s.History) == 2 && s.History[0].Commit.Hash == next {
				got <- s
				return
			}
		}
	}()
	select {
	case s := <-got:
		if s.Source.AppliedCommit != next || s.Source.Commit.Message != "second" || len(s.History) != 2 {
			t.Fatalf("state after the change: %+v, history %+v", s.Source, s.History)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no event carried the change made in etcd")
	}
}

// TestEventLogDelivered: an event recorded in etcd through store, as the recorders write it,
// reaches an open stream and then /api/state.
func TestEventLogDelivered(t *testing.T) {
	srv, st := testServer(t, "", Config{})
	c := newClient(t, srv)
	c.loadState()
	stream := openEvents(t, c)
	if first, err := stream.next(); err != nil || first.Events == nil {
		t.Fatalf("first state: events %v, %v; want a list", first.Events, err)
	}
	ctx := context.Background()
	lease, err := st.GrantLease(ctx, store.EventLeaseTTL)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second)
	want := api.Event{Type: api.EventWarning, Reason: api.ReasonFailedScheduling, Message: "0/1 nodes fit: cpu",
		Object: api.Key{Kind: api.KindPod, Namespace: "prod", Name: "web-1"}, Source: api.EventSourceScheduler, Count: 1, FirstTime: at, LastTime: at}
	if err := st.RecordEvents(ctx, want.Source, lease, []api.Event{want}, 20); err != nil {
		t.Fatal(err)
	}
	got := make(chan []api.Event, 1)
	go func() {
		for {
			s, err := stream.next()
			if err != nil || len(s.Events) > 0 {
				got <- s.Events
				return
			}
		}
	}()
	select {
	case evs := <-got:
		if len(evs) != 1 || !evs[0].SameAs(want) || !evs[0].LastTime.Equal(at) || evs[0].Count != 1 {
			t.Fatalf("events streamed: %+v, want %+v", evs, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no state carried the event recorded in etcd")
	}
	if code, s := c.loadState(); code != http.StatusOK || len(s.Events) != 1 || s.Events[0].Reason != api.ReasonFailedScheduling {
		t.Errorf("/api/state: %d, events %+v", code, s.Events)
	}
}

// TestSlowClientDropped: a subscriber that reads nothing is dropped once its buffer is full,
// while another one keeps getting every change.
func TestSlowClientDropped(t *testing.T) {
	st := etcdtest.Start(t)
	cfg := Config{ClientBuffer: 1, MinInterval: -1}.withDefaults()
	h := newHub(st, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.run(ctx) }()
	defer func() { cancel(); <-done }()
	if _, err := h.snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	slow, fast := h.subscribe(), h.subscribe()
	last := make(chan string, 1)
	go func() {
		for b := range fast.ch {
			var s State
			if json.Unmarshal(b, &s) == nil {
				select {
				case <-last:
				default:
				}
				last <- s.Source.AppliedCommit
			}
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	var want string
	for i := 0; ; i++ {
		if _, dropped := h.counts(); dropped > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow subscriber was never dropped")
		}
		want = fmt.Sprintf("%040x", i+1)
		commitSync(t, st, want, "change")
		time.Sleep(20 * time.Millisecond)
	}
	if _, open := <-slow.ch; open {
		// the buffered State is still there; the channel closes after it
		if _, open := <-slow.ch; open {
			t.Fatal("the slow subscriber's stream did not end")
		}
	}
	for time.Now().Before(deadline) {
		select {
		case got := <-last:
			if got == want {
				if connected, _ := h.counts(); connected != 1 {
					t.Fatalf("%d subscribers connected, want the fast one", connected)
				}
				return
			}
		case <-time.After(time.Second):
		}
	}
	t.Fatalf("the fast subscriber never saw %s", want)
}
