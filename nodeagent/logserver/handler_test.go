package logserver

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var web = api.PodKey{Namespace: "default", Name: "web-1.a"}

// writeLog writes a container's log (or, with previous, its previous attempt's).
func writeLog(t *testing.T, dataDir, container, content string, previous bool) string {
	t.Helper()
	path := logs.Path(dataDir, web, container)
	if previous {
		path = logs.Previous(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestServeLog: whole logs, tails, the previous attempt, and what is refused: unknown Pods and
// containers (404, named), a previous attempt there is none of, names that are not names (so
// no path leaves the logs dir), bad queries.
func TestServeLog(t *testing.T) {
	dataDir := t.TempDir()
	writeLog(t, dataDir, "app", "one\ntwo\nthree\n", false)
	writeLog(t, dataDir, "app", "old one\nold two", true)
	writeLog(t, dataDir, "partial", "a\nb\nno newline", false)
	writeLog(t, dataDir, "long", strings.Repeat("x", 3*readBlock)+"\nlast\n", false)
	writeLog(t, dataDir, "sidecar", "side\n", false)
	// A file beside the data dir that a traversal would aim at.
	if err := os.WriteFile(filepath.Join(dataDir, "secret"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(dataDir, testLogger(t), Options{Node: "n1"}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := srv.URL + "/v1/logs/default/web-1.a/"
	for _, c := range []struct {
		name, url string
		code      int
		body      string // the body, or with a "~" before it a part of it
	}{
		{"whole", base + "app", 200, "one\ntwo\nthree\n"},
		{"tail 2", base + "app?tail=2", 200, "two\nthree\n"},
		{"tail 0", base + "app?tail=0", 200, ""},
		{"tail more than there is", base + "app?tail=10", 200, "one\ntwo\nthree\n"},
		{"tail without a last newline", base + "partial?tail=2", 200, "b\nno newline"},
		{"tail of lines longer than a block", base + "long?tail=2", 200, "~x\nlast\n"},
		{"tail 1 after a long line", base + "long?tail=1", 200, "last\n"},
		{"previous", base + "app?previous=true", 200, "old one\nold two"},
		{"previous tail", base + "app?previous=true&tail=1", 200, "old two"},
		{"previous while following: the whole attempt", base + "app?previous=true&follow=true", 200, "old one\nold two"},
		{"no previous attempt", base + "sidecar?previous=true", 404, `container "sidecar" of Pod default/web-1.a has no previous attempt on node n1` + "\n"},
		{"unknown container", base + "nope", 404, `~container "nope" of Pod default/web-1.a has no log on node n1`},
		{"unknown pod", srv.URL + "/v1/logs/default/other/app", 404, `~container "app" of Pod default/other has no log on node n1`},
		{"unknown namespace", srv.URL + "/v1/logs/shop/web-1.a/app", 404, `~Pod shop/web-1.a has no log`},
		{"containers of a Pod", srv.URL + "/v1/logs/default/web-1.a", 200, `{"namespace":"default","pod":"web-1.a","node":"n1","containers":["app","long","partial","sidecar"]}` + "\n"},
		{"containers of a Pod with none here", srv.URL + "/v1/logs/default/other", 404, "Pod default/other has no logs on node n1\n"},
		{"bad tail", base + "app?tail=-1", 400, "tail=\"-1\": want a number of lines, 0 or more\n"},
		{"bad follow", base + "app?follow=maybe", 400, "follow=\"maybe\": want true or false\n"},
		{"traversal in the container", srv.URL + "/v1/logs/default/web-1.a/..%2F..%2Fsecret", 400, `~container: invalid name "../../secret"`},
		{"traversal in the pod", srv.URL + "/v1/logs/default/..%2F..%2F..%2Fsecret/x", 400, `~pod: invalid name "../../../secret"`},
		{"dots as a pod", srv.URL + "/v1/logs/default/%2E%2E/app", 400, `~pod: invalid name ".."`},
		{"an underscore, which would name another Pod's file", srv.URL + "/v1/logs/default/web-1.a_app/x", 400, `~pod: invalid name "web-1.a_app"`},
		{"uppercase namespace", srv.URL + "/v1/logs/Default/web-1.a/app", 400, `~namespace: invalid name "Default"`},
		{"a dot in a namespace", srv.URL + "/v1/logs/a.b/web-1.a/app", 400, `~namespace: invalid name "a.b"`},
		{"a cleaned path is redirected, not served", srv.URL + "/v1/logs/default/web-1.a/../../../secret", 307, "~"},
		{"POST", base + "app", 405, "~"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var code int
			var body string
			if c.name == "POST" {
				resp, err := client.Post(c.url, "text/plain", nil)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				code = resp.StatusCode
			} else {
				code, body = get(t, client, c.url)
			}
			if code != c.code {
				t.Fatalf("status %d, want %d: %s", code, c.code, body)
			}
			if part, ok := strings.CutPrefix(c.body, "~"); ok {
				if !strings.Contains(body, part) {
					t.Fatalf("body %q, want it to hold %q", trim2(body), part)
				}
			} else if body != c.body {
				t.Fatalf("body %q, want %q", trim2(body), c.body)
			}
			if strings.Contains(body, "secret\n") && !strings.Contains(body, "invalid") {
				t.Fatalf("served a file outside the logs dir: %q", body)
			}
		})
	}
}

func trim2(s string) string {
	if len(s) > 200 {
		return s[:100] + "…" + s[len(s)-100:]
	}
	return s
}

// follower reads a follow stream line by line.
type follower struct {
	t      *testing.T
	lines  chan string
	cancel context.CancelFunc
	done   chan struct{}
}

func follow(t *testing.T, url string) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("follow: %s", resp.Status)
	}
	f := &follower{t: t, lines: make(chan string, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer close(f.lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cancel(); <-f.done })
	return f
}

// expect waits for the next lines of the stream to be want.
func (f *follower) expect(want ...string) {
	f.t.Helper()
	for _, w := range want {
		select {
		case got, ok := <-f.lines:
			if !ok {
				f.t.Fatalf("stream ended; want %q", w)
			}
			if got != w {
				f.t.Fatalf("line %q, want %q", got, w)
			}
		case <-time.After(10 * time.Second):
			f.t.Fatalf("no line in 10s; want %q", w)
		}
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestFollow follows a log from its last line through new lines, a copy-truncate rotation and
// a new attempt, past the server's read and write timeouts, until its Pod's logs are removed.
func TestFollow(t *testing.T) {
	dataDir := t.TempDir()
	path := writeLog(t, dataDir, "app", "one\ntwo\n", false)
	srv := httptest.NewUnstartedServer(New(dataDir, testLogger(t), Options{Node: "n1", Poll: 10 * time.Millisecond}))
	// Timeouts much shorter than the stream: a stream lasts as long as its client wants it.
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	srv.Start()
	defer srv.Close()
	f := follow(t, srv.URL+"/v1/logs/default/web-1.a/app?follow=true&tail=1")
	f.expect("two")
	appendTo(t, path, "three\n")
	f.expect("three")
	time.Sleep(300 * time.Millisecond) // past both timeouts
	appendTo(t, path, "four\nfive\n")
	f.expect("four", "five")

	if rotated, err := logs.Rotate(path, 1); !rotated || err != nil {
		t.Fatalf("rotate: %v, %v", rotated, err)
	}
	appendTo(t, path, "six\n") // shorter than what was sent: read from the start
	f.expect("six")

	appendTo(t, path, "last of the attempt\n")
	if err := logs.NewAttempt(path); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, "next attempt\n")
	f.expect("last of the attempt", "next attempt")

	if err := logs.Remove(path); err != nil {
		t.Fatal(err)
	}
	select {
	case l, ok := <-f.lines:
		if ok {
			t.Fatalf("line %q after the log was removed", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end when the Pod's logs were removed")
	}
}

// TestFollowEnds: a stream ends when its client goes away, and when the server shuts down.
func TestFollowEnds(t *testing.T) {
	dataDir := t.TempDir()
	writeLog(t, dataDir, "app", "one\n", false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, New(dataDir, testLogger(t), Options{Node: "n1", Poll: 10 * time.Millisecond}), nil, testLogger(t))
	}()
	url := "http://" + ln.Addr().String() + "/v1/logs/default/web-1.a/app?follow=1"
	f := follow(t, url)
	f.expect("one")
	f.cancel()
	<-f.done
	g := follow(t, url)
	g.expect("one")
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop with a stream open")
	}
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end with the server")
	}
}

// TestContainersJSON decodes the list of a Pod's containers as a client does.
func TestContainersJSON(t *testing.T) {
	dataDir := t.TempDir()
	writeLog(t, dataDir, "b", "", false)
	writeLog(t, dataDir, "a", "", true) // only a previous attempt
	names, err := containersWithLogs(dataDir, web)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(names)
	if string(b) != `["a","b"]` {
		t.Fatalf("containers %s", b)
	}
}
