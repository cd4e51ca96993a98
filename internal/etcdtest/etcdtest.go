// Package etcdtest starts a real embedded etcd on a temp dir and a free loopback port for tests.
package etcdtest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/gitfleet/gitfleet/store"
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
	if testing.Short() {
		t.Skip("needs a real etcd; skipped under -short")
	}
	e, err := store.StartEmbedded(context.Background(), store.EmbeddedConfig{Dir: t.TempDir() + "/etcd"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
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
