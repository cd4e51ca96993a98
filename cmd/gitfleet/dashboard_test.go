package main

import (
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/pki"
)

// TestDashboardFlags: the dashboard is off without --http-listen, serves loopback without a
// token file, and refuses any other address without one, or a bad token file, with a clear
// error; --http-tls-cert and --http-tls-key come together and must load; beyond loopback
// without them it warns that tokens travel in clear text.
func TestDashboardFlags(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("0123456789abcdef admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("# none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ca := testCA(t)
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeServingPair(t, ca, cert, key)
	otherCert, otherKey := filepath.Join(dir, "other.crt"), filepath.Join(dir, "other.key")
	writeServingPair(t, ca, otherCert, otherKey)
	missing := filepath.Join(dir, "missing")
	site := httpSite{src: &sourceFlags{serviceCIDR: api.DefaultServiceCIDR}}
	const clear = "tokens and session cookies travel in clear text"
	for _, tc := range []struct {
		f     dashboardFlags
		roles int
		err   string
		warn  bool
	}{
		{f: dashboardFlags{listen: ""}, roles: 0},
		{f: dashboardFlags{listen: "", tokenFile: tokens}, err: "--http-token-file needs --http-listen"},
		{f: dashboardFlags{listen: "127.0.0.1:0"}, roles: 1},
		{f: dashboardFlags{listen: "localhost:8080"}, roles: 1},
		{f: dashboardFlags{listen: "[::1]:8080"}, roles: 1},
		{f: dashboardFlags{listen: ":8080"}, err: "--http-listen :8080 is not a loopback address"},
		{f: dashboardFlags{listen: "0.0.0.0:8080"}, err: "pass --http-token-file FILE"},
		{f: dashboardFlags{listen: "10.0.0.1:8080", tokenFile: tokens}, roles: 1, warn: true},
		{f: dashboardFlags{listen: "0.0.0.0:8080", tokenFile: filepath.Join(dir, "missing")}, err: "--http-token-file: read dashboard tokens"},
		{f: dashboardFlags{listen: "0.0.0.0:8080", tokenFile: empty}, err: "no token"},
		{f: dashboardFlags{listen: "8080"}, err: "want HOST:PORT"},

		{f: dashboardFlags{listen: "10.0.0.1:8080", tokenFile: tokens, tlsCert: cert, tlsKey: key}, roles: 1},
		{f: dashboardFlags{listen: "127.0.0.1:0", tlsCert: cert, tlsKey: key}, roles: 1},
		{f: dashboardFlags{listen: "0.0.0.0:8080", tlsCert: cert, tlsKey: key}, err: "pass --http-token-file FILE"},
		{f: dashboardFlags{listen: "", tlsCert: cert, tlsKey: key}, err: "--http-tls-cert needs --http-listen"},
		{f: dashboardFlags{listen: "", tlsKey: key}, err: "--http-tls-key needs --http-listen"},
		{f: dashboardFlags{listen: "127.0.0.1:0", tlsCert: cert}, err: "--http-tls-cert needs --http-tls-key"},
		{f: dashboardFlags{listen: "127.0.0.1:0", tlsKey: key}, err: "--http-tls-key needs --http-tls-cert"},
		{f: dashboardFlags{listen: "127.0.0.1:0", tlsCert: missing, tlsKey: key},
			err: "--http-tls-cert, --http-tls-key: read the TLS certificate: open " + missing + ": no such file or directory"},
		{f: dashboardFlags{listen: "127.0.0.1:0", tlsCert: cert, tlsKey: missing}, err: "--http-tls-cert, --http-tls-key: read the TLS key: open " + missing},
		{f: dashboardFlags{listen: "127.0.0.1:0", tlsCert: cert, tlsKey: otherKey}, err: "private key does not match public key"},
		{f: dashboardFlags{listen: "127.0.0.1:0", tlsCert: tokens, tlsKey: key}, err: "load the TLS pair " + tokens},
	} {
		var logs testenv.SyncBuffer
		roles, err := tc.f.roles(site, slog.New(slog.NewTextHandler(&logs, nil)))
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%+v: %v, want an error with %q", tc.f, err, tc.err)
			}
		case err != nil || len(roles) != tc.roles:
			t.Errorf("%+v: %d roles, %v; want %d", tc.f, len(roles), err, tc.roles)
		case strings.Contains(logs.String(), clear) != tc.warn:
			t.Errorf("%+v: logged %q, want a warning %q: %v", tc.f, logs.String(), clear, tc.warn)
		}
	}
}

// testCA is a throwaway cluster CA, as a user's own CA would issue the dashboard's certificate.
func testCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// writeServingPair issues a serving certificate for 127.0.0.1 from ca, writes it and its key to
// certFile and keyFile, and returns its serial.
func writeServingPair(t *testing.T, ca *pki.CA, certFile, keyFile string) *big.Int {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(pki.Request{CommonName: "dashboard", Usage: pki.Server, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for path, b := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	certs, err := pki.ParseCerts(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0].SerialNumber
}

// TestHelpNamesDashboardTLS: --help and up's and controller's flags tell the TLS flags.
func TestHelpNamesDashboardTLS(t *testing.T) {
	out, _, err := runCLI("--help")
	if err != nil || !strings.Contains(out, "[--http-tls-cert F --http-tls-key F]") {
		t.Errorf("--help: %v, want the TLS flags:\n%s", err, out)
	}
	for _, cmd := range []string{"up", "controller"} {
		_, stderr, _ := runCLI(cmd, "-h")
		if !strings.Contains(stderr, "-http-tls-cert") || !strings.Contains(stderr, "-http-tls-key") {
			t.Errorf("%s -h does not list -http-tls-cert and -http-tls-key:\n%s", cmd, stderr)
		}
	}
}
