package dashboard

import (
	"bytes"
	"crypto/x509"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/pki"
)

// servingPair issues a certificate for 127.0.0.1 from ca, writes it and its key to certFile and
// keyFile, and returns its serial.
func servingPair(t *testing.T, ca *pki.CA, certFile, keyFile string) *big.Int {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(pki.Request{CommonName: "dashboard", Usage: pki.Server, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	certs, err := pki.ParseCerts(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0].SerialNumber
}

// TestCertFilesReload: the pair is read again when its files change, at most once a second; a
// pair that fails to load, or a file gone, keeps the previous one (and is logged once); a
// rotation that writes the certificate and then the key is taken once both are written.
func TestCertFilesReload(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(filepath.Join(dir, "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := servingPair(t, ca, certFile, keyFile)
	now := time.Unix(1_700_000_000, 0)
	var logs bytes.Buffer
	c, err := LoadCertFiles(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	serving := func() *big.Int {
		t.Helper()
		pair, err := c.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber
	}
	if got := serving(); got.Cmp(first) != 0 {
		t.Fatalf("serving serial %s, want the first %s", got, first)
	}

	second := servingPair(t, ca, certFile, keyFile)
	now = now.Add(500 * time.Millisecond)
	if got := serving(); got.Cmp(first) != 0 {
		t.Errorf("half a second after the last look: serial %s, want still the first %s", got, first)
	}
	now = now.Add(time.Second)
	if got := serving(); got.Cmp(second) != 0 {
		t.Errorf("after a second: serial %s, want the second %s", got, second)
	}

	if err := os.WriteFile(certFile, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if got := serving(); got.Cmp(second) != 0 {
		t.Errorf("after a broken certificate: serial %s, want still the second %s", got, second)
	}
	if !strings.Contains(logs.String(), "does not load") {
		t.Errorf("the broken certificate was not logged:\n%s", logs.String())
	}

	// A file gone for a while (replaced by a rename, say), then back as it was: no reload.
	keyPEM2, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		now = now.Add(time.Second)
		if got := serving(); got.Cmp(second) != 0 {
			t.Errorf("without the key file: serial %s, want still the second %s", got, second)
		}
	}
	if n := strings.Count(logs.String(), "cannot read the dashboard's TLS certificate"); n != 1 {
		t.Errorf("the missing key logged %d times, want once:\n%s", n, logs.String())
	}
	if err := os.WriteFile(keyFile, keyPEM2, 0o600); err != nil {
		t.Fatal(err)
	}

	// A rotation in two writes, each looked at: the certificate alone does not match the old
	// key; the pair loads once the key is written too.
	certPEM, keyPEM, err := ca.Issue(pki.Request{CommonName: "dashboard", Usage: pki.Server}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	if got := serving(); got.Cmp(second) != 0 {
		t.Errorf("with the new certificate and the old key: serial %s, want still the second %s", got, second)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Second)
	third, _ := pki.ParseCerts(certPEM)
	if got := serving(); got.Cmp(third[0].SerialNumber) != 0 {
		t.Errorf("with both written: serial %s, want the third %s", got, third[0].SerialNumber)
	}
	if n := strings.Count(logs.String(), "reloaded the dashboard's TLS certificate"); n != 2 {
		t.Errorf("%d reloads logged, want 2:\n%s", n, logs.String())
	}
}

// TestLoadCertFilesErrors: a missing file or a pair that does not match names what failed.
func TestLoadCertFilesErrors(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(filepath.Join(dir, "ca"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	servingPair(t, ca, certFile, keyFile)
	otherCert, otherKey := filepath.Join(dir, "other.crt"), filepath.Join(dir, "other.key")
	servingPair(t, ca, otherCert, otherKey)
	missing := filepath.Join(dir, "missing")
	for _, tc := range []struct{ cert, key, want string }{
		{missing, keyFile, "read the TLS certificate: open " + missing},
		{certFile, missing, "read the TLS key: open " + missing},
		{certFile, otherKey, "load the TLS pair " + certFile + ", " + otherKey + ": tls: private key does not match public key"},
	} {
		_, err := LoadCertFiles(tc.cert, tc.key, slog.New(slog.DiscardHandler), time.Now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadCertFiles(%s, %s) = %v, want an error with %q", tc.cert, tc.key, err, tc.want)
		}
	}
}
