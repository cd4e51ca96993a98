// Package etcdtest starts a real embedded etcd on a temp dir and a free loopback port for tests.
package etcdtest

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/embedded"
)

// Start runs an embedded etcd for the duration of t and returns a Store connected to it.
func Start(t testing.TB) *store.Store {
	t.Helper()
	st, _ := StartWithEndpoints(t)
	return st
}

// StartWithEndpoints is Start that also returns the client endpoints, for components that dial.
func StartWithEndpoints(t testing.TB) (*store.Store, []string) {
	t.Helper()
	return StartConfig(t, embedded.Config{})
}

// StartConfig is StartWithEndpoints with cfg (its limits, say); Dir is always a temp dir.
func StartConfig(t testing.TB, cfg embedded.Config) (*store.Store, []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real etcd; skipped under -short")
	}
	cfg.Dir = t.TempDir() + "/etcd"
	e, err := embedded.Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	c, err := store.Connect(e.Endpoints)
	if err != nil {
		e.Close()
		t.Fatalf("connect etcd: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		e.Close()
	})
	return store.New(c), e.Endpoints
}

// TLSServer is an embedded etcd that serves TLS on two loopback addresses (its local and its
// public one) and admits only clients with a certificate from the CA kept in PKI.
type TLSServer struct {
	// PKI is the directory of the CA, the server's pair and an "admin" client pair.
	PKI                        string
	CA                         *pki.CA
	Endpoints, PublicEndpoints []string
}

// StartTLS runs a TLSServer for the duration of t and returns a Store connected to it as admin.
func StartTLS(t testing.TB) (*store.Store, TLSServer) {
	t.Helper()
	return StartTLSLog(t, slog.New(slog.DiscardHandler))
}

// StartTLSLog is StartTLS with the server's log going to log.
func StartTLSLog(t testing.TB, log *slog.Logger) (*store.Store, TLSServer) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real etcd; skipped under -short")
	}
	dir := t.TempDir()
	srv := TLSServer{PKI: filepath.Join(dir, "pki")}
	now := time.Now()
	var err error
	if srv.CA, err = pki.LoadOrCreateCA(srv.PKI, now); err != nil {
		t.Fatal(err)
	}
	loopback := []net.IP{net.IPv4(127, 0, 0, 1)}
	if _, err := srv.CA.Ensure(srv.PKI, pki.ServerCert, pki.ServerKey, pki.Request{CommonName: "etcd", Usage: pki.Server, IPs: loopback}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CA.Ensure(srv.PKI, pki.ClientCert, pki.ClientKey, pki.Request{CommonName: "admin"}, now); err != nil {
		t.Fatal(err)
	}
	e, err := embedded.Start(context.Background(), embedded.Config{Dir: filepath.Join(dir, "etcd"), PublicAddr: "127.0.0.1:0",
		TLS: &embedded.ServerTLS{CertFile: filepath.Join(srv.PKI, pki.ServerCert), KeyFile: filepath.Join(srv.PKI, pki.ServerKey), CAFile: filepath.Join(srv.PKI, pki.CACert)}},
		log)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	srv.Endpoints, srv.PublicEndpoints = e.Endpoints, e.PublicEndpoints
	tlsCfg, err := pki.DirClientTLS(srv.PKI)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	c, err := store.ConnectTLS(e.Endpoints, tlsCfg)
	if err != nil {
		e.Close()
		t.Fatalf("connect etcd: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		e.Close()
	})
	return store.New(c), srv
}

// ConnectAs returns a Store connected to srv's local endpoint as user: with a client certificate
// from srv's CA whose CommonName is user, which is who an etcd with auth takes the client for.
// The client closes when t ends.
func (srv TLSServer) ConnectAs(t testing.TB, user string) *store.Store {
	t.Helper()
	certPEM, keyPEM, err := srv.CA.Issue(pki.Request{CommonName: user}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.ConnectTLS(srv.Endpoints, &tls.Config{RootCAs: srv.CA.Pool(), Certificates: []tls.Certificate{pair},
		MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("connect etcd as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return store.New(c)
}
