package logserver

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// issue writes a pair from ca for req into dir and returns it.
func issue(t *testing.T, ca *pki.CA, dir string, req pki.Request) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.ReplaceAll(req.CommonName, ":", "_")
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return pair
}

// TestAuthorize: over TLS, a client certificate of the cluster CA for admin, viewer or a node
// reads logs; one for any other identity gets 403; one from another CA, or none, is refused in
// the handshake.
func TestAuthorize(t *testing.T) {
	dir, otherDir := t.TempDir(), t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.LoadOrCreateCA(otherDir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	issue(t, ca, dir, pki.Request{CommonName: store.NodeUser("n1"), Usage: pki.Server, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	tlsConf, err := TLSConfig(filepath.Join(dir, pki.CACert), filepath.Join(dir, "node_n1.crt"), filepath.Join(dir, "node_n1.key"))
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	writeLog(t, dataDir, "app", "hello\n", false)
	srv := httptest.NewUnstartedServer(New(dataDir, testLogger(t), Options{Node: "n1", Authorize: true}))
	srv.TLS = tlsConf
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)

	for _, c := range []struct {
		name   string
		cert   *tls.Certificate // nil: none
		code   int              // 0: refused in the handshake
		answer string
	}{
		{"admin", ptr(issue(t, ca, dir, pki.Request{CommonName: store.UserAdmin})), 200, "hello\n"},
		{"viewer", ptr(issue(t, ca, dir, pki.Request{CommonName: store.UserViewer})), 200, "hello\n"},
		{"another node", ptr(issue(t, ca, dir, pki.Request{CommonName: store.NodeUser("n2")})), 200, "hello\n"},
		{"the node's own serving certificate", ptr(issue(t, ca, dir, pki.Request{CommonName: store.NodeUser("n1"), Usage: pki.Server})), 200, "hello\n"},
		{"controller", ptr(issue(t, ca, dir, pki.Request{CommonName: store.UserController})), 403, "\"controller\" may not read logs (admin, viewer and nodes may)\n"},
		{"scheduler", ptr(issue(t, ca, dir, pki.Request{CommonName: store.UserScheduler})), 403, "~may not read logs"},
		{"a node with no name", ptr(issue(t, ca, dir, pki.Request{CommonName: "node:"})), 403, "~may not read logs"},
		{"viewer of another CA", ptr(issue(t, other, otherDir, pki.Request{CommonName: store.UserViewer})), 0, ""},
		{"no certificate", nil, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
			if c.cert != nil {
				conf.Certificates = []tls.Certificate{*c.cert}
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}
			defer client.CloseIdleConnections()
			resp, err := client.Get(srv.URL + "/v1/logs/default/web-1.a/app")
			if c.code == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("served (%s); want a refused handshake", resp.Status)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			code, body := resp.StatusCode, string(b)
			if code != c.code {
				t.Fatalf("status %d, want %d: %s", code, c.code, body)
			}
			if part, ok := strings.CutPrefix(c.answer, "~"); ok && !strings.Contains(body, part) || !ok && body != c.answer {
				t.Fatalf("body %q, want %q", body, c.answer)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestAllowed is the table of identities that may read logs.
func TestAllowed(t *testing.T) {
	for user, want := range map[string]bool{
		"admin": true, "viewer": true, "node:a": true, "node:a.b": true,
		"": false, "node:": false, "controller": false, "scheduler": false, "root": false, "Admin": false, "nodes:a": false,
	} {
		if got := Allowed(user); got != want {
			t.Errorf("Allowed(%q) = %t, want %t", user, got, want)
		}
	}
}
