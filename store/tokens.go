package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// JoinToken is the record of a join token: a hash of its secret, never the secret, and when it
// expires.
type JoinToken struct {
	ID string `json:"id"`
	// SecretHash is "sha256:" and the hex SHA-256 of the secret.
	SecretHash string    `json:"secretHash"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires"`
	// ControlPlane lets the token join control-plane hosts (etcd members, which get the
	// cluster CA's key), not only workers.
	ControlPlane bool `json:"controlPlane,omitempty"`
}

// CreateJoinToken writes tok under a lease of keep, after which etcd deletes it; keep should
// outlast tok.Expires, so that a late join hears that the token expired rather than that it
// is unknown. It fails with ErrConflict when a token with the same ID exists.
func (s *Store) CreateJoinToken(ctx context.Context, tok JoinToken, keep time.Duration) error {
	b, err := json.Marshal(tok)
	if err != nil {
		return fmt.Errorf("encode join token: %w", err)
	}
	lease, err := s.GrantLease(ctx, keep)
	if err != nil {
		return err
	}
	key := tokenKey(tok.ID)
	if err := s.commit(ctx, "create join token "+tok.ID, ErrConflict,
		[]clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(key), "=", 0)},
		clientv3.OpPut(key, string(b), clientv3.WithLease(lease))); err != nil {
		// The lease would only expire with nothing under it; revoking it is tidier.
		_, _ = s.c.Revoke(ctx, lease)
		return err
	}
	return nil
}

// JoinToken reads the record of the token id; it fails with ErrNotFound when there is none (it
// never was, or etcd deleted it).
func (s *Store) JoinToken(ctx context.Context, id string) (JoinToken, error) {
	tok, _, err := get[JoinToken](ctx, s, tokenKey(id))
	return tok, err
}
