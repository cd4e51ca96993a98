package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

func TestJoinTokens(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	now := time.Now().UTC().Truncate(time.Second)
	tok := store.JoinToken{ID: "abcdef", SecretHash: "sha256:00", Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateJoinToken(ctx, tok, 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	got, err := s.JoinToken(ctx, "abcdef")
	if err != nil || got != tok {
		t.Fatalf("JoinToken = %+v, %v; want %+v", got, err, tok)
	}
	if err := s.CreateJoinToken(ctx, tok, 2*time.Hour); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create with the same ID: %v, want ErrConflict", err)
	}
	if _, err := s.JoinToken(ctx, "zzzzzz"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v, want ErrNotFound", err)
	}
	// The lease is what removes a token for good.
	short := store.JoinToken{ID: "short1", SecretHash: "sha256:01", Created: now, Expires: now}
	if err := s.CreateJoinToken(ctx, short, time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, err := s.JoinToken(ctx, "short1"); !errors.Is(err, store.ErrNotFound); _, err = s.JoinToken(ctx, "short1") {
		if time.Now().After(deadline) {
			t.Fatalf("token still there after its lease: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
