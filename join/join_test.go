package join_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/join"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// serve runs h over TLS with cert on a loopback port for the duration of t and returns its URL.
func serve(t *testing.T, h http.Handler, cert tls.Certificate) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		ErrorLog: slog.NewLogLogger(slog.NewTextHandler(io.Discard, nil), slog.LevelDebug)}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { srv.Close() })
	return "https://" + l.Addr().String()
}

// clock is a settable time for the join server.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// TestJoin runs the join server of a real etcd with TLS and client-certificate auth, as `up
// --advertise-address` does, and joins hosts to it.
func TestJoin(t *testing.T) {
	ctx := context.Background()
	admin, etcd := etcdtest.StartTLS(t)
	var clk clock
	srv := join.NewServer(admin, join.ServerConfig{CA: etcd.CA, EtcdEndpoints: etcd.PublicEndpoints, Members: admin, Now: clk.now},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	cert, err := pki.ServerCertificate(etcd.PKI)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, l, cert) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	url := "https://" + l.Addr().String()
	tok, err := join.CreateToken(ctx, admin, pki.Hash(etcd.CA.Cert), join.Worker, time.Hour, clk.now())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a good token gets certificates that read and write etcd", func(t *testing.T) {
		creds, err := join.Join(ctx, url, tok, "w1", []net.IP{net.IPv4(10, 0, 0, 7)})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "pki")
		if err := pki.WriteClient(dir, creds.CA, creds.Cert, creds.Key); err != nil {
			t.Fatal(err)
		}
		tlsCfg, err := pki.DirClientTLS(dir)
		if err != nil {
			t.Fatal(err)
		}
		if cn := tlsCfg.Certificates[0].Leaf.Subject.CommonName; cn != "node:w1" {
			t.Fatalf("certificate for %q, want node:w1", cn)
		}
		if err := putGet(ctx, creds.EtcdEndpoints, tlsCfg); err != nil {
			t.Fatalf("the joined host at %v: %v", creds.EtcdEndpoints, err)
		}
		// Its serving certificate: the same identity and key, for serving at its address.
		serving, err := tls.X509KeyPair(creds.ServingCert, creds.Key)
		if err != nil {
			t.Fatalf("the serving certificate: %v", err)
		}
		leaf := serving.Leaf
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: etcd.CA.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil ||
			leaf.Subject.CommonName != "node:w1" || len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.IPv4(10, 0, 0, 7)) {
			t.Fatalf("serving certificate for %q at %v: %v", leaf.Subject.CommonName, leaf.IPAddresses, err)
		}
		// The token stays good until it expires, for the next host.
		if _, err := join.Join(ctx, url, tok, "w2", nil); err != nil {
			t.Fatalf("second host: %v", err)
		}
	})

	t.Run("a client without a certificate is refused by etcd", func(t *testing.T) {
		noCert, err := pki.ClientTLS(filepath.Join(etcd.PKI, pki.CACert), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := putGet(ctx, etcd.PublicEndpoints, noCert); err == nil {
			t.Fatal("etcd let a client without a certificate write")
		}
	})

	refusals := []struct {
		name string
		tok  join.Token
		want string
	}{
		{"unknown token", join.Token{CAHash: tok.CAHash, ID: "zzzzzz", Secret: tok.Secret}, "token refused: unknown token"},
		{"wrong secret", join.Token{CAHash: tok.CAHash, ID: tok.ID, Secret: "0000000000000000"}, "token refused: wrong secret"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := join.Join(ctx, url, r.tok, "w3", nil)
			if !errors.Is(err, join.ErrRefused) || !join.Permanent(err) || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("join = %v, want a permanent %q", err, r.want)
			}
			t.Logf("refused: %v", err)
			if strings.Contains(err.Error(), string(tok.Secret)) {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}

	t.Run("an expired token", func(t *testing.T) {
		short, err := join.CreateToken(ctx, admin, tok.CAHash, join.Worker, time.Minute, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		rec, err := admin.JoinToken(ctx, short.ID)
		if err != nil {
			t.Fatal(err)
		}
		clk.advance(2 * time.Minute)
		_, err = join.Join(ctx, url, short, "w3", nil)
		want := "token refused: expired on " + rec.Expires.UTC().Format(time.RFC3339)
		if !errors.Is(err, join.ErrRefused) || !strings.Contains(err.Error(), want) {
			t.Fatalf("join = %v, want %q", err, want)
		}
		t.Logf("refused: %v", err)
	})

	t.Run("a server with another CA", func(t *testing.T) {
		other, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "pki"), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		otherDir := filepath.Join(t.TempDir(), "pki")
		if _, err := other.Ensure(otherDir, pki.ServerCert, pki.ServerKey,
			pki.Request{CommonName: "gitfleet", Usage: pki.Server, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now()); err != nil {
			t.Fatal(err)
		}
		otherCert, err := pki.ServerCertificate(otherDir)
		if err != nil {
			t.Fatal(err)
		}
		// It would accept the token (it reads the same tokens), had the host sent it.
		var asked atomic.Int32
		h := join.NewServer(admin, join.ServerConfig{CA: other, EtcdEndpoints: etcd.PublicEndpoints}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		impostor := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			asked.Add(1)
			h.ServeHTTP(w, r)
		}), otherCert)
		_, err = join.Join(ctx, impostor, tok, "w3", nil)
		if !errors.Is(err, join.ErrCAMismatch) || !join.Permanent(err) ||
			!strings.Contains(err.Error(), "server certificate is not signed by the CA this token pins (token is for another cluster?)") {
			t.Fatalf("join = %v, want ErrCAMismatch", err)
		}
		t.Logf("refused: %v", err)
		if n := asked.Load(); n != 0 {
			t.Fatalf("the host sent %d requests (and its secret) to the other cluster's server", n)
		}
	})

	t.Run("a control-plane host needs a control-plane token", func(t *testing.T) {
		_, err := join.JoinControlPlane(ctx, url, tok, "cp1", "https://127.0.0.2:2380")
		if !errors.Is(err, join.ErrRefused) || !strings.Contains(err.Error(), "token create --control-plane") {
			t.Fatalf("join = %v, want a refusal naming --control-plane", err)
		}
		cpTok, err := join.CreateToken(ctx, admin, tok.CAHash, join.ControlPlane, time.Hour, clk.now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := join.JoinControlPlane(ctx, url, cpTok, "cp1", "http://127.0.0.2:2380"); err == nil || !join.Permanent(err) {
			t.Fatalf("join with a plain-http peer URL = %v, want a permanent refusal", err)
		}
		creds, err := join.JoinControlPlane(ctx, url, cpTok, "cp1", "https://127.0.0.2:2380")
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "pki")
		ca, err := pki.WriteCA(dir, creds.CA, creds.CAKey)
		if err != nil || pki.Hash(ca.Cert) != tok.CAHash {
			t.Fatalf("the CA it got: %v", err)
		}
		if !strings.Contains(creds.InitialCluster, "cp1=https://127.0.0.2:2380") {
			t.Fatalf("initial cluster %q does not name the new member", creds.InitialCluster)
		}
		members, err := admin.Members(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var learners []store.Member
		for _, m := range members {
			if m.Learner {
				learners = append(learners, m)
			}
		}
		if len(members) != 2 || len(learners) != 1 {
			t.Fatalf("members %+v: want the first and one learner", members)
		}
		// The learner never starts here; remove it so the cluster is as before.
		if _, err := admin.RemoveMember(ctx, learners[0].IDString(), true); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("no server yet is worth a retry", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "https://" + l.Addr().String()
		l.Close()
		if _, err := join.Join(ctx, closed, tok, "w3", nil); err == nil || join.Permanent(err) {
			t.Fatalf("join = %v, want an error worth a retry", err)
		}
	})
}

// putGet writes and reads a key at endpoints within two seconds.
func putGet(ctx context.Context, endpoints []string, tlsCfg *tls.Config) error {
	c, err := store.ConnectTLS(endpoints, tlsCfg)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "/gitfleet/join-probe", "1"); err != nil {
		return err
	}
	_, err = c.Get(ctx, "/gitfleet/join-probe")
	return err
}
