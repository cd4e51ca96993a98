package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/embedded"
)

// member starts a member named name on loopback with srv's CA, peer TLS included; cluster is
// its --initial-cluster ("" for the first), peer the address it talks to members at.
func member(t *testing.T, srv etcdtest.TLSServer, name, cluster, peer string) *embedded.Server {
	t.Helper()
	dir := t.TempDir()
	e, err := embedded.Start(context.Background(), embedded.Config{Dir: filepath.Join(dir, "etcd"), Name: name, ClientAddr: freeAddr(t),
		PeerAddr: peer, InitialCluster: cluster,
		TLS: &embedded.ServerTLS{CertFile: filepath.Join(srv.PKI, pki.ServerCert), KeyFile: filepath.Join(srv.PKI, pki.ServerKey), CAFile: filepath.Join(srv.PKI, pki.CACert)}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start member %s: %v", name, err)
	}
	t.Cleanup(e.Close)
	return e
}

// freeAddr returns a loopback address free now, with a port below Linux's ephemeral range
// (32768 and up): a port there, once released, may be taken by any outgoing connection of
// another test before the member listens on it.
func freeAddr(t *testing.T) string {
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no free loopback port below 32000")
	return ""
}

// TestMembersJoinPromoteRemove grows a cluster of one to three members as `up --join` does (a
// learner added, started with the initial cluster it was given, promoted once caught up), checks
// that a retried join adds nothing, that the cluster keeps serving writes with one member
// stopped, and that a member can be removed.
func TestMembersJoinPromoteRemove(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, srv := etcdtest.StartTLS(t)
	tlsCfg, err := pki.DirClientTLS(srv.PKI)
	if err != nil {
		t.Fatal(err)
	}
	first := member(t, srv, "a", "", freeAddr(t))
	c, err := store.ConnectTLS(first.Endpoints, tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st := store.New(c)
	started := map[string]*embedded.Server{"a": first}
	for _, name := range []string{"b", "c"} {
		addr := freeAddr(t)
		peer := "https://" + addr
		cluster, urls, err := st.AddLearner(ctx, name, peer)
		for errors.Is(err, store.ErrMembersSettling) && ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
			cluster, urls, err = st.AddLearner(ctx, name, peer)
		}
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := st.AddLearner(ctx, name, peer)
		if err != nil || again != cluster {
			t.Fatalf("join of %s retried: %q, %v; want %q", name, again, err, cluster)
		}
		if !strings.Contains(cluster, name+"="+peer) || len(urls) == 0 {
			t.Fatalf("initial cluster %q, client URLs %v", cluster, urls)
		}
		started[name] = member(t, srv, name, cluster, addr)
		if started[name].PeerURL != peer {
			t.Fatalf("member %s listens for peers at %s, was added at %s", name, started[name].PeerURL, peer)
		}
		if !started[name].Learner() {
			t.Fatalf("member %s votes before its promotion", name)
		}
		if err := started[name].Promote(ctx, tlsCfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
			t.Fatal(err)
		}
		if eps := started[name].ClusterEndpoints(); len(eps) < 2 {
			t.Fatalf("member %s knows the cluster at %v, want itself and the others", name, eps)
		}
	}
	members, err := st.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leaders := 0
	for _, m := range members {
		if m.Learner || !m.Started() {
			t.Errorf("member %+v: want a started voter", m)
		}
		if m.Leader {
			leaders++
		}
	}
	if len(members) != 3 || leaders != 1 {
		t.Fatalf("members %+v: want 3, one leader", members)
	}

	// Stop c: a and b are a quorum, and b cannot be removed: a alone would be none.
	started["c"].Close()
	if _, err := c.Put(ctx, "/gitfleet/probe", "after c stopped"); err != nil {
		t.Fatalf("write with one of three members down: %v", err)
	}
	if _, err := st.RemoveMember(ctx, "b", false); err == nil || !strings.Contains(err.Error(), "do not answer: c;") {
		t.Fatalf("removing b with c down: %v, want a refusal naming c", err)
	}
	if _, err := st.RemoveMember(ctx, "c", false); err != nil {
		t.Fatal(err)
	}
	if members, err = st.Members(ctx); err != nil || len(members) != 2 {
		t.Fatalf("after removing c: %+v, %v", members, err)
	}
	if _, err := st.RemoveMember(ctx, "c", false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removing c again: %v, want ErrNotFound", err)
	}
}
