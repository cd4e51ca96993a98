package join

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

const hash64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseToken(t *testing.T) {
	good := "GF1" + hash64 + "::abc123.0123456789abcdef"
	tests := []struct {
		name, in string
		want     Token
		wantErr  bool
	}{
		{"as printed", good, Token{CAHash: "sha256:" + hash64, ID: "abc123", Secret: "0123456789abcdef"}, false},
		{"from a file, with its newline", "  " + good + "\n", Token{CAHash: "sha256:" + hash64, ID: "abc123", Secret: "0123456789abcdef"}, false},
		{"a bare kubeadm token", "abc123.0123456789abcdef", Token{}, true},
		{"another version", "GF2" + good[3:], Token{}, true},
		{"short hash", "GF1" + hash64[1:] + "::abc123.0123456789abcdef", Token{}, true},
		{"uppercase secret", "GF1" + hash64 + "::abc123.0123456789ABCDEF", Token{}, true},
		{"short secret", "GF1" + hash64 + "::abc123.0123456789abcde", Token{}, true},
		{"long id", "GF1" + hash64 + "::abc1234.0123456789abcdef", Token{}, true},
		{"one colon", "GF1" + hash64 + ":abc123.0123456789abcdef", Token{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseToken(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseToken = %+v, %v; want %+v, error %t", got, err, tt.want, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "0123456789abc") {
				t.Fatalf("the error repeats the secret: %v", err)
			}
			if err == nil && got.Reveal() != strings.TrimSpace(tt.in) {
				t.Fatalf("Reveal = %q, want %q", got.Reveal(), tt.in)
			}
		})
	}
}

func TestTokenNeverPrintsItsSecret(t *testing.T) {
	tok, err := NewToken("sha256:" + hash64)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.ID) != idLen || len(tok.Secret) != secretLen {
		t.Fatalf("token %q", tok.Reveal())
	}
	if again, err := ParseToken(tok.Reveal()); err != nil || again != tok {
		t.Fatalf("ParseToken(Reveal) = %+v, %v", again, err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("made", "token", tok, "secret", tok.Secret)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("made", "token", tok, "secret", tok.Secret)
	printed := fmt.Sprintf("%v %+v %#v %s %v", tok, tok, tok, tok, tok.Secret) + logged.String()
	if strings.Contains(printed, string(tok.Secret)) {
		t.Fatalf("the secret shows: %s", printed)
	}
	if !strings.Contains(printed, tok.ID) {
		t.Fatalf("the ID does not show: %s", printed)
	}
}

func TestNewTokenRefusesABadHash(t *testing.T) {
	for _, h := range []string{"", hash64, "sha256:" + hash64[2:], "md5:" + hash64} {
		if _, err := NewToken(h); err == nil {
			t.Errorf("NewToken(%q) made a token", h)
		}
	}
}

func TestVerify(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rec := store.JoinToken{ID: "abc123", SecretHash: HashSecret("0123456789abcdef"), Created: t0, Expires: t0.Add(24 * time.Hour)}
	tests := []struct {
		name    string
		secret  Secret
		now     time.Time
		want    error
		message string
	}{
		{"good", "0123456789abcdef", t0.Add(time.Hour), nil, ""},
		{"wrong secret", "0123456789abcdee", t0.Add(time.Hour), ErrWrongSecret, "wrong secret"},
		{"wrong secret, expired", "0123456789abcdee", t0.Add(48 * time.Hour), ErrWrongSecret, "wrong secret"},
		{"at its end", "0123456789abcdef", t0.Add(24 * time.Hour), ErrExpired, "expired on 2026-03-02T12:00:00Z"},
		{"after", "0123456789abcdef", t0.Add(25 * time.Hour), ErrExpired, "expired on 2026-03-02T12:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(rec, tt.secret, tt.now)
			if !errors.Is(err, tt.want) || (err != nil && err.Error() != tt.message) {
				t.Fatalf("Verify = %v, want %v (%q)", err, tt.want, tt.message)
			}
		})
	}
}

// fakeWriter records tokens, refusing the first taken IDs.
type fakeWriter struct {
	taken int
	got   []store.JoinToken
	keep  time.Duration
}

func (f *fakeWriter) CreateJoinToken(_ context.Context, tok store.JoinToken, keep time.Duration) error {
	if f.taken > 0 {
		f.taken--
		return store.ErrConflict
	}
	f.got, f.keep = append(f.got, tok), keep
	return nil
}

var _ TokenWriter = (*fakeWriter)(nil)

func TestCreateToken(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	w := &fakeWriter{taken: 2}
	tok, err := CreateToken(context.Background(), w, "sha256:"+hash64, Worker, time.Hour, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := store.JoinToken{ID: tok.ID, SecretHash: HashSecret(tok.Secret), Created: t0, Expires: t0.Add(time.Hour)}
	if len(w.got) != 1 || w.got[0] != want || w.keep != time.Hour+keepExpired {
		t.Fatalf("recorded %+v for %s, want %+v", w.got, w.keep, want)
	}
	if strings.Contains(fmt.Sprint(w.got), string(tok.Secret)) {
		t.Fatal("the record holds the secret")
	}
	if _, err := CreateToken(context.Background(), &fakeWriter{taken: 3}, "sha256:"+hash64, Worker, time.Hour, t0); err == nil {
		t.Fatal("three taken IDs: no error")
	}
	if _, err := CreateToken(context.Background(), &fakeWriter{}, "sha256:"+hash64, Worker, 0, t0); err == nil {
		t.Fatal("a ttl of 0 made a token")
	}
}

// TestPinnedCA: the joining host accepts a server whose certificate chains to the CA its token
// pins, for the host it dialed, and nothing else.
func TestPinnedCA(t *testing.T) {
	now := time.Now()
	ca, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "pki"), now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.LoadOrCreateCA(filepath.Join(t.TempDir(), "pki"), now)
	if err != nil {
		t.Fatal(err)
	}
	chain := func(ca *pki.CA, usage pki.Usage) []*x509.Certificate {
		key, err := pki.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		b, err := ca.Sign(key.Public(), pki.Request{CommonName: "gitfleet", Usage: usage, IPs: []net.IP{net.ParseIP("10.0.0.1")}}, now)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := pki.ParseCerts(b)
		if err != nil {
			t.Fatal(err)
		}
		return certs
	}
	good := chain(ca, pki.Server)
	tests := []struct {
		name     string
		pin      pinnedCA
		certs    []*x509.Certificate
		mismatch bool
	}{
		{"the pinned CA's server", pinnedCA{pki.Hash(ca.Cert), "10.0.0.1"}, good, false},
		{"another cluster's server", pinnedCA{pki.Hash(ca.Cert), "10.0.0.1"}, chain(other, pki.Server), true},
		{"a token for another cluster", pinnedCA{pki.Hash(other.Cert), "10.0.0.1"}, good, true},
		{"the leaf alone", pinnedCA{pki.Hash(ca.Cert), "10.0.0.1"}, good[:1], true},
		{"another host", pinnedCA{pki.Hash(ca.Cert), "10.0.0.2"}, good, true},
		{"a client certificate", pinnedCA{pki.Hash(ca.Cert), "10.0.0.1"}, chain(ca, pki.Client), true},
		{"a leaf posing as the CA", pinnedCA{pki.Hash(good[0]), "10.0.0.1"}, []*x509.Certificate{good[0], good[0]}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.pin.verify(tls.ConnectionState{PeerCertificates: tt.certs})
			if errors.Is(err, ErrCAMismatch) != tt.mismatch || (err != nil) != tt.mismatch {
				t.Fatalf("verify = %v, want mismatch %t", err, tt.mismatch)
			}
		})
	}
}
