package join

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/internal/secret"
	"github.com/gitfleet/gitfleet/store"
)

// Secret is a token's secret part; see package secret.
type Secret = secret.Secret

// redacted replaces a secret wherever one would be printed.
const redacted = secret.Redacted

// Token is a join token, "GF1<ca hash>::<id>.<secret>": the hex SHA-256 of the cluster CA's
// public key (kubeadm's ca-cert-hash, which lets the joining host check the server), then a
// kubeadm bootstrap token, an ID of 6 and a secret of 16 characters from [a-z0-9].
type Token struct {
	// CAHash pins the cluster's CA, as pki.Hash prints it: "sha256:<hex>".
	CAHash string
	// ID names the token. It is not secret: logs and records name it.
	ID     string
	Secret Secret
}

const (
	tokenPrefix = "GF1"
	hashPrefix  = "sha256:"
	idLen       = 6
	secretLen   = 16
	alphabet    = "abcdefghijklmnopqrstuvwxyz0123456789"
)

var (
	tokenFormat = regexp.MustCompile(`^GF1([0-9a-f]{64})::([a-z0-9]{6})\.([a-z0-9]{16})$`)
	idFormat    = regexp.MustCompile(`^[a-z0-9]{6}$`)
)

// The reasons a server refuses a token.
var (
	ErrUnknownToken = errors.New("unknown token")
	ErrWrongSecret  = errors.New("wrong secret")
	ErrExpired      = errors.New("expired")
	ErrWorkerToken  = errors.New("this token joins workers only: make one with 'gitfleet token create --control-plane' on a control-plane host")
)

// ParseToken reads a token as Reveal prints it; surrounding space is ignored. Its errors never
// repeat s, which may hold a secret.
func ParseToken(s string) (Token, error) {
	m := tokenFormat.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Token{}, fmt.Errorf("parse join token: want GF1<64 hex digits>::<6 of [a-z0-9]>.<16 of [a-z0-9]>, as 'gitfleet token create' prints it")
	}
	return Token{CAHash: hashPrefix + m[1], ID: m[2], Secret: Secret(m[3])}, nil
}

// NewToken makes a token with a random ID and secret for the CA whose hash is caHash.
func NewToken(caHash string) (Token, error) {
	if !strings.HasPrefix(caHash, hashPrefix) || len(caHash) != len(hashPrefix)+64 {
		return Token{}, fmt.Errorf("make join token: CA hash %q is not sha256:<64 hex digits>", caHash)
	}
	s, err := randomString(rand.Reader, idLen+secretLen)
	if err != nil {
		return Token{}, fmt.Errorf("make join token: %w", err)
	}
	return Token{CAHash: caHash, ID: s[:idLen], Secret: Secret(s[idLen:])}, nil
}

// randomString is n characters of alphabet, uniformly: bytes that would favour the first
// characters are drawn again.
func randomString(r io.Reader, n int) (string, error) {
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// Reveal is the whole token, its secret included, to be shown to the user once.
func (t Token) Reveal() string {
	return tokenPrefix + strings.TrimPrefix(t.CAHash, hashPrefix) + "::" + t.ID + "." + string(t.Secret)
}

// String is the token with its secret redacted.
func (t Token) String() string {
	return tokenPrefix + strings.TrimPrefix(t.CAHash, hashPrefix) + "::" + t.ID + "." + redacted
}

// LogValue is String.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// HashSecret is what the store keeps of a secret: "sha256:" and its hex SHA-256. The secret is
// random and long, so a plain hash suffices.
func HashSecret(s Secret) string {
	sum := sha256.Sum256([]byte(s))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// Verify checks secret against the record rec at now: it fails with ErrWrongSecret, or
// ErrExpired naming when.
func Verify(rec store.JoinToken, secret Secret, now time.Time) error {
	if subtle.ConstantTimeCompare([]byte(HashSecret(secret)), []byte(rec.SecretHash)) != 1 {
		return ErrWrongSecret
	}
	if !now.Before(rec.Expires) {
		return fmt.Errorf("%w on %s", ErrExpired, rec.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// TokenWriter records tokens; *store.Store is one.
type TokenWriter interface {
	CreateJoinToken(ctx context.Context, tok store.JoinToken, keep time.Duration) error
}

var _ TokenWriter = (*store.Store)(nil)

// keepExpired is how long the record of an expired token stays, so that a late join is told
// that its token expired rather than that it is unknown.
const keepExpired = 24 * time.Hour

// Role is what a token lets a host join as.
type Role int

const (
	// Worker hosts run an agent.
	Worker Role = iota
	// ControlPlane hosts run an etcd member and the control plane, and get the CA's key; their
	// tokens are asked for apart ('token create --control-plane'), as kubeadm's certificate key.
	ControlPlane
)

// CreateToken makes a token for the CA whose hash is caHash, valid for ttl from now, that joins
// hosts as role, and records it with w.
func CreateToken(ctx context.Context, w TokenWriter, caHash string, role Role, ttl time.Duration, now time.Time) (Token, error) {
	if ttl <= 0 {
		return Token{}, fmt.Errorf("create join token: the time to live must be positive, not %s", ttl)
	}
	for range 3 {
		tok, err := NewToken(caHash)
		if err != nil {
			return Token{}, err
		}
		rec := store.JoinToken{ID: tok.ID, SecretHash: HashSecret(tok.Secret), Created: now.UTC(), Expires: now.Add(ttl).UTC(),
			ControlPlane: role == ControlPlane}
		switch err := w.CreateJoinToken(ctx, rec, ttl+keepExpired); {
		case err == nil:
			return tok, nil
		case !errors.Is(err, store.ErrConflict):
			return Token{}, err
		}
	}
	return Token{}, fmt.Errorf("create join token: three random IDs were taken")
}
