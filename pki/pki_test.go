package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newCA(t *testing.T) (*CA, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	ca, err := LoadOrCreateCA(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	return ca, dir
}

func TestCAIsKeptAndLoaded(t *testing.T) {
	ca, dir := newCA(t)
	for file, mode := range map[string]os.FileMode{CACert: 0o644, CAKey: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", file, fi.Mode().Perm(), mode)
		}
	}
	again, err := LoadOrCreateCA(dir, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if Hash(again.Cert) != Hash(ca.Cert) {
		t.Fatal("a second LoadOrCreateCA made a new CA")
	}
	if !ca.Cert.IsCA || ca.Cert.NotAfter.Sub(t0) != CALifetime {
		t.Fatalf("CA: IsCA %t, valid until %v", ca.Cert.IsCA, ca.Cert.NotAfter)
	}
}

func TestLoadCAErrors(t *testing.T) {
	if _, err := LoadCA(t.TempDir()); !errors.Is(err, ErrNoCA) {
		t.Fatalf("empty dir: %v, want ErrNoCA", err)
	}
	_, dir := newCA(t)
	_, other := newCA(t)
	b, err := os.ReadFile(filepath.Join(other, CAKey))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CAKey), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(dir); err == nil {
		t.Fatal("a CA with another CA's key loaded")
	}
}

func TestHashIsKubeadmsFormat(t *testing.T) {
	ca, _ := newCA(t)
	other, _ := newCA(t)
	h := Hash(ca.Cert)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(h) {
		t.Fatalf("hash %q", h)
	}
	sum := sha256.Sum256(ca.Cert.RawSubjectPublicKeyInfo)
	if h != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatal("hash is not the SHA-256 of the SubjectPublicKeyInfo")
	}
	if Hash(other.Cert) == h {
		t.Fatal("two CAs hash the same")
	}
}

func TestSign(t *testing.T) {
	ca, _ := newCA(t)
	other, _ := newCA(t)
	tests := []struct {
		name    string
		req     Request
		verify  x509.VerifyOptions
		wantErr bool
	}{
		{"client for etcd", Request{CommonName: "node:w1"},
			x509.VerifyOptions{KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, false},
		{"client is no server", Request{CommonName: "admin"},
			x509.VerifyOptions{KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, true},
		{"server at its IP", Request{CommonName: "gitfleet", Usage: Server, IPs: []net.IP{net.ParseIP("10.0.0.1")}},
			x509.VerifyOptions{DNSName: "10.0.0.1"}, false},
		{"server at its name", Request{CommonName: "gitfleet", Usage: Server, DNSNames: []string{"localhost"}},
			x509.VerifyOptions{DNSName: "localhost"}, false},
		{"server elsewhere", Request{CommonName: "gitfleet", Usage: Server, IPs: []net.IP{net.ParseIP("10.0.0.1")}},
			x509.VerifyOptions{DNSName: "10.0.0.2"}, true},
		{"server is a client too (etcd's gateway)", Request{CommonName: "gitfleet", Usage: Server},
			x509.VerifyOptions{KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, false},
		{"another CA's roots", Request{CommonName: "admin"},
			x509.VerifyOptions{Roots: other.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := NewKey()
			if err != nil {
				t.Fatal(err)
			}
			chain, err := ca.Sign(key.Public(), tt.req, t0)
			if err != nil {
				t.Fatal(err)
			}
			certs, err := ParseCerts(chain)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != 2 || !certs[1].Equal(ca.Cert) {
				t.Fatalf("chain has %d certificates, want the leaf and the CA", len(certs))
			}
			if certs[0].Subject.CommonName != tt.req.CommonName {
				t.Errorf("common name %q", certs[0].Subject.CommonName)
			}
			opts := tt.verify
			if opts.Roots == nil {
				opts.Roots = ca.Pool()
			}
			opts.CurrentTime = t0
			if _, err := certs[0].Verify(opts); (err != nil) != tt.wantErr {
				t.Fatalf("verify: %v, want error %t", err, tt.wantErr)
			}
		})
	}
}

func TestSignCSR(t *testing.T) {
	ca, _ := newCA(t)
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := CSR(key)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := ca.SignCSR(csr, Request{CommonName: "node:w1"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCerts(chain)
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(certs[0].PublicKey.(*ecdsa.PublicKey)) || certs[0].Subject.CommonName != "node:w1" {
		t.Fatalf("certificate for %q with another key", certs[0].Subject.CommonName)
	}

	for name, bad := range map[string][]byte{
		"not PEM":          []byte("hello"),
		"a certificate":    chain,
		"a forged request": forge(t, csr),
	} {
		if _, err := ca.SignCSR(bad, Request{CommonName: "node:w1"}, t0); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

// forge flips a bit of the request's signature, at its very end.
func forge(t *testing.T, csrPEM []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(csrPEM)
	der := bytes.Clone(block.Bytes)
	der[len(der)-1] ^= 1
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
}

func TestEnsure(t *testing.T) {
	ca, dir := newCA(t)
	other, _ := newCA(t)
	req := Request{CommonName: "gitfleet", Usage: Server, IPs: []net.IP{net.ParseIP("10.0.0.1")}, DNSNames: []string{"localhost"}}
	moved := req
	moved.IPs = []net.IP{net.ParseIP("10.0.0.2")}
	steps := []struct {
		name   string
		ca     *CA
		req    Request
		now    time.Time
		issued bool
	}{
		{"first start issues", ca, req, t0, true},
		{"a restart keeps it", ca, req, t0.Add(24 * time.Hour), false},
		{"a new address issues", ca, moved, t0.Add(24 * time.Hour), true},
		{"near its end it is renewed", ca, moved, t0.Add(LeafLifetime - 10*24*time.Hour), true},
		{"another CA issues", other, moved, t0.Add(LeafLifetime), true},
	}
	for _, s := range steps {
		issued, err := s.ca.Ensure(dir, ServerCert, ServerKey, s.req, s.now)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if issued != s.issued {
			t.Errorf("%s: issued %t, want %t", s.name, issued, s.issued)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, ServerKey))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("server key: %v, mode %v", err, fi.Mode().Perm())
	}
}

// TestTLSWithClientCertificates: a server with dir's pair and a client from ClientTLS shake
// hands when the server requires a client certificate from the CA; one without a certificate,
// or with another CA's, does not.
func TestTLSWithClientCertificates(t *testing.T) {
	ca, dir := newCA(t)
	other, otherDir := newCA(t)
	if _, err := ca.Ensure(dir, ServerCert, ServerKey, Request{CommonName: "gitfleet", Usage: Server, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*CA{ca, other} {
		d := dir
		if c == other {
			d = otherDir
		}
		if _, err := c.Ensure(d, ClientCert, ClientKey, Request{CommonName: "admin"}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	pair, err := ServerCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	server := &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	good, err := DirClientTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	noCert, err := ClientTLS(filepath.Join(dir, CACert), "", "")
	if err != nil {
		t.Fatal(err)
	}
	otherCert, err := ClientTLS(filepath.Join(dir, CACert), filepath.Join(otherDir, ClientCert), filepath.Join(otherDir, ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		client *tls.Config
		ok     bool
	}{"the CA's client": {good, true}, "no certificate": {noCert, false}, "another CA's client": {otherCert, false}} {
		if err := handshake(server, tt.client); (err == nil) != tt.ok {
			t.Errorf("%s: handshake %v, want ok %t", name, err, tt.ok)
		}
	}
}

// handshake runs a TLS handshake between server and client over loopback TCP and returns the
// server's error, else the client's.
func handshake(server, client *tls.Config) error {
	l, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		return err
	}
	defer l.Close()
	errs := make(chan error, 1)
	go func() {
		s, err := l.Accept()
		if err != nil {
			errs <- err
			return
		}
		defer s.Close()
		// Read the client's byte: TLS 1.3 checks the client certificate after the client's
		// handshake returns.
		_, err = s.Read(make([]byte, 1))
		errs <- err
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		<-errs
		return err
	}
	defer c.Close()
	_, cerr := c.Write([]byte{1})
	if err := <-errs; err != nil {
		return err
	}
	return cerr
}
