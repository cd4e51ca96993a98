package store_test

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// TestEmbeddedTLS: with TLS the embedded etcd serves https on its local and its public address,
// to clients with a certificate from its CA and to no one else.
func TestEmbeddedTLS(t *testing.T) {
	ctx := context.Background()
	_, srv := etcdtest.StartTLS(t)
	if len(srv.Endpoints) != 1 || len(srv.PublicEndpoints) != 1 || srv.Endpoints[0] == srv.PublicEndpoints[0] {
		t.Fatalf("endpoints %v, public %v; want one of each", srv.Endpoints, srv.PublicEndpoints)
	}
	admin, err := pki.DirClientTLS(srv.PKI)
	if err != nil {
		t.Fatal(err)
	}
	noCert, err := pki.ClientTLS(filepath.Join(srv.PKI, pki.CACert), "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range append(srv.Endpoints, srv.PublicEndpoints...) {
		if err := putGet(ctx, ep, admin); err != nil {
			t.Errorf("admin at %s: %v", ep, err)
		}
		if err := putGet(ctx, ep, noCert); err == nil {
			t.Errorf("a client without a certificate wrote at %s", ep)
		}
		if err := putGet(ctx, "http"+ep[len("https"):], nil); err == nil {
			t.Errorf("a client without TLS wrote at %s", ep)
		}
	}
}

// putGet writes and reads a key at endpoint within a second.
func putGet(ctx context.Context, endpoint string, tlsCfg *tls.Config) error {
	c, err := store.ConnectTLS([]string{endpoint}, tlsCfg)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "/gitfleet/tls-probe", "1"); err != nil {
		return err
	}
	_, err = c.Get(ctx, "/gitfleet/tls-probe")
	return err
}
