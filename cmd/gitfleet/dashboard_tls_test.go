package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// TestDashboardTLS: with --http-tls-cert and --http-tls-key the dashboard's server, on a real
// etcd, answers HTTPS only (TLS 1.2 at least; plain HTTP gets no page), a login over HTTPS sets
// a Secure cookie that then reads the state and the event stream (over HTTP/2, as a browser
// would), /healthz answers there too; a new certificate written over the files is presented by
// the next handshakes, and a broken one is logged while the previous stays.
func TestDashboardTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testCA(t)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := writeServingPair(t, ca, certFile, keyFile)
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("0123456789abcdef admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := etcdtest.Start(t)
	o := newObserve()
	o.checkEtcd(st)
	logs := &testenv.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := dashboardFlags{listen: "127.0.0.1:0", tokenFile: tokens, tlsCert: certFile, tlsKey: keyFile}
	roles, err := f.roles(httpSite{st: st, src: &sourceFlags{serviceCIDR: api.DefaultServiceCIDR}, obs: o}, log)
	if err != nil || len(roles) != 1 {
		t.Fatalf("roles: %d, %v", len(roles), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- roles[0].run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the dashboard's server: %v", err)
		}
	})
	base := servedURL(t, logs)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("serving at %s, want https://127.0.0.1:PORT/", base)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(base, "https://"), "/")

	trust := &tls.Config{RootCAs: ca.Pool()}
	jar, _ := cookiejar.New(nil)
	// A browser speaks HTTP/2 over TLS; so does this client.
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: trust, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"login", url.Values{"token": {"0123456789abcdef"}})
	if err != nil {
		t.Fatalf("log in over HTTPS: %v", err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(cookie, "gitfleet_session=") || !strings.Contains(cookie, "; Secure") {
		t.Fatalf("login over HTTPS: %d, Set-Cookie %q; want 303 and a Secure session cookie", resp.StatusCode, cookie)
	}
	for _, path := range []string{"api/state", "healthz"} {
		if code, body := getBody(t, client, base+path); code != http.StatusOK {
			t.Errorf("GET %s over HTTPS: %d %s", path, code, body)
		}
	}
	firstEvent(t, client, base+"api/events")

	plain := &http.Client{Timeout: 10 * time.Second}
	if code, body := getBody(t, plain, "http://"+addr+"/healthz"); code != http.StatusBadRequest || !strings.Contains(body, "HTTPS server") {
		t.Errorf("plain HTTP to the TLS port: %d %q, want the server's 400 refusal", code, body)
	}
	old := &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS11}
	if _, err := servedSerial(addr, old); err == nil {
		t.Error("a TLS 1.1 handshake succeeded, want TLS 1.2 at least")
	}

	second := writeServingPair(t, ca, certFile, keyFile)
	if second.Cmp(first) == 0 {
		t.Fatal("the new certificate has the first's serial")
	}
	waitServed(t, addr, trust, second, logs)
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Handshakes look at the files; each presents the second until and after one has seen
	// the broken file and logged it.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "does not load"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the broken certificate not logged in 10s:\n%s", logs.String())
		}
		if got, err := servedSerial(addr, trust); err != nil || got.Cmp(second) != 0 {
			t.Fatalf("with a broken certificate written: serial %v, %v; want still %s", got, err, second)
		}
	}
	if got, err := servedSerial(addr, trust); err != nil || got.Cmp(second) != 0 {
		t.Errorf("after the broken certificate was seen: serial %v, %v; want still %s", got, err, second)
	}
}

// firstEvent reads the event stream at u until its first state, over HTTP/2.
func firstEvent(t *testing.T, c *http.Client, u string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("GET %s: %d over %s, want 200 over HTTP/2", u, resp.StatusCode, resp.Proto)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if sc.Text() == "event: state" {
			return
		}
	}
	t.Fatalf("the event stream at %s ended without a state: %v", u, sc.Err())
}

// servedURL is where the server says it serves the dashboard.
func servedURL(t *testing.T, logs *testenv.SyncBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`serving the dashboard.* url=(\S+)`)
	m := waitLog(t, logs, re.String())
	return re.FindStringSubmatch(m)[1]
}

// waitLog waits up to 10s for a log line matching re, and returns the log.
func waitLog(t *testing.T, logs *testenv.SyncBuffer, re string) string {
	t.Helper()
	r := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if s := logs.String(); r.MatchString(s) {
			return s
		}
	}
	t.Fatalf("no log line matching %q in 10s:\n%s", re, logs.String())
	return ""
}

// waitServed waits up to 10s for new handshakes to present the certificate of serial.
func waitServed(t *testing.T, addr string, trust *tls.Config, serial *big.Int, logs *testenv.SyncBuffer) {
	t.Helper()
	var got *big.Int
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = servedSerial(addr, trust); err == nil && got.Cmp(serial) == 0 {
			return
		}
	}
	t.Fatalf("the server still presents serial %v (%v) after 10s, want %s:\n%s", got, err, serial, logs.String())
}

// servedSerial is the serial of the certificate a new handshake with addr presents.
func servedSerial(addr string, conf *tls.Config) (*big.Int, error) {
	conn, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("no certificate")
	}
	return certs[0].SerialNumber, nil
}

// getBody answers GET u with status and body.
func getBody(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
