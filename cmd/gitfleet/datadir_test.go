package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// TestDataDirPrivate checks that the data dir is 0700, made so or tightened from an existing
// 0755 one, and that the files gitfleet writes there (the endpoints among them) are 0600.
func TestDataDirPrivate(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "fresh")
	old := t.TempDir()
	if err := os.Chmod(old, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{fresh, old} {
		unlock, err := lockDataDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		unlock()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("data dir %s: %v, %v; want 0700", dir, fi.Mode(), err)
		}
	}
	file := endpointsFile(fresh)
	if err := os.WriteFile(file+".tmp", nil, 0o644); err != nil { // left by a crash
		t.Fatal(err)
	}
	if err := writeFileAtomic(file, []byte("http://127.0.0.1:2379\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("endpoints file: %v, %v; want 0600", fi.Mode(), err)
	}
}

// onlyWithCertificates checks that the etcd of a running up on one host answers only a client
// with a certificate from its CA: not one without TLS, nor one with TLS but no certificate (a
// local user who cannot read DATA_DIR/pki, or a Pod on the host network).
func onlyWithCertificates(t *testing.T, dataDir string) {
	t.Helper()
	b, err := os.ReadFile(endpointsFile(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	ep := strings.Fields(string(b))[0]
	if !strings.HasPrefix(ep, "https://127.0.0.1:") {
		t.Fatalf("up's etcd is at %s, want https on loopback", ep)
	}
	noCert, err := pki.ClientTLS(filepath.Join(pkiDir(dataDir), pki.CACert), "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		ep   string
		tls  *tls.Config
	}{{"without TLS", "http://" + strings.TrimPrefix(ep, "https://"), nil}, {"without a certificate", ep, noCert}} {
		cli, err := store.ConnectTLS([]string{c.ep}, c.tls)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err = cli.Put(ctx, "/gitfleet/nodes/evil", "{}")
		cancel()
		cli.Close()
		if err == nil {
			t.Errorf("a client %s wrote to up's etcd", c.what)
		}
	}
}

// logsOnLoopback checks that up without --advertise-address serves logs over TLS on loopback
// alone, and that gitfleet logs reads pod's there (the example's httpd prints nothing).
func logsOnLoopback(t *testing.T, c *cluster, pod string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := c.connect().GetNode(ctx, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	if d := node.Status.DaemonEndpoints; d == nil || d.AgentEndpoint.URL() != "https://127.0.0.1:10250" {
		t.Fatalf("node e2e's logs endpoint %+v, want https://127.0.0.1:10250", d)
	}
	c.waitFor("gitfleet logs "+pod, 30*time.Second, func() error {
		out, err := c.cli("logs", pod)
		if err == nil && out != "" {
			err = fmt.Errorf("log %q, want none", out)
		}
		return err
	})
}
