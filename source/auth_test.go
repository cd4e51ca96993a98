package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh/knownhosts"
)

const (
	testToken = "tok-3f9a1c77e2"
	testPass  = "pa:ss/w@rd-91"
)

// pushedRemote is a bare repository whose main holds deploy/web.yaml.
func pushedRemote(t *testing.T) (*gittest.Remote, string) {
	t.Helper()
	r := gittest.NewRemote(t)
	r.Write("deploy/web.yaml", "a: 1\n")
	return r, r.CommitAndPush("one")
}

func sourceFor(t *testing.T, url string, auth Auth) (*Git, error) {
	t.Helper()
	return New(Config{URL: url, Path: "deploy", CacheDir: filepath.Join(t.TempDir(), "cache"), Auth: auth})
}

// assertNoSecret fails when s holds any of the test's secrets, raw or URL-escaped.
func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	gittest.AssertNoSecret(t, what, s, testToken, testPass, "wrong-"+testToken)
}

func TestSourceHTTPSWithToken(t *testing.T) {
	r, head := pushedRemote(t)
	url, ca := gittest.ServeHTTP(t, r.URL(), testToken)
	tests := []struct {
		name string
		auth Auth
		want string // "" means the fetch succeeds
	}{
		{"token as basic auth", Auth{Token: testToken, CAFile: ca}, ""},
		{"token with a username", Auth{Username: "x-access-token", Token: testToken, CAFile: ca}, ""},
		{"bearer token", Auth{BearerToken: testToken, CAFile: ca}, ""},
		{"basic auth", Auth{Username: "alice", Password: testToken, CAFile: ca}, ""},
		{"no token", Auth{CAFile: ca}, "authentication required"},
		{"wrong token", Auth{Token: "wrong-" + testToken, CAFile: ca}, "authentication required"},
		{"no CA", Auth{Token: testToken}, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkFetch(t, url, tt.auth, head, tt.want) })
	}
}

func TestSourceHTTPSCredentialsInURL(t *testing.T) {
	r, head := pushedRemote(t)
	base, ca := gittest.ServeHTTP(t, r.URL(), testPass)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("alice", testPass)
	src, err := sourceFor(t, u.String(), Auth{CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Config().URL; got != base {
		t.Fatalf("Config().URL = %s, want %s", got, base)
	}
	assertNoSecret(t, "config", fmt.Sprintf("%v %+v %#v", src.Config(), src.Config(), src.Config()))
	if got, err := src.Fetch(context.Background()); err != nil || got != head {
		t.Fatalf("fetch = %s, %v; want %s", got, err, head)
	}
	gitConfig, err := os.ReadFile(filepath.Join(src.Config().CacheDir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "cache git config", string(gitConfig))
	if _, err := sourceFor(t, u.String(), Auth{Token: testToken}); err == nil {
		t.Fatal("credentials both in the URL and in Auth accepted")
	}
	// A user alone in the URL goes with a token from Auth.
	u.User = url.User("alice")
	if src, err = sourceFor(t, u.String(), Auth{Token: testPass, CAFile: ca}); err != nil {
		t.Fatal(err)
	}
	if got, err := src.Fetch(context.Background()); err != nil || got != head {
		t.Fatalf("fetch with user in URL, token in Auth = %s, %v; want %s", got, err, head)
	}
}

func TestSourceHTTPSTokenAsURLUser(t *testing.T) {
	r, _ := pushedRemote(t)
	base, ca := gittest.ServeHTTP(t, r.URL(), "not-the-user")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(testToken) // https://TOKEN@host, as GitHub allows
	src, err := sourceFor(t, u.String(), Auth{CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Fetch(context.Background())
	if err == nil {
		t.Fatal("fetch succeeded; the server wants another token")
	}
	assertNoSecret(t, "error", err.Error())
	assertNoSecret(t, "config", fmt.Sprintf("%v %+v %#v", src.Config(), src.Config(), src.Config()))
}

func TestSourceSSH(t *testing.T) {
	r, head := pushedRemote(t)
	clientKey, keyFile := gittest.SSHKey(t, "")
	url, hostLine := gittest.ServeSSH(t, r.URL(), clientKey)
	knownHosts := writeFile(t, "known_hosts", hostLine+"\n")
	_, otherKeyFile := gittest.SSHKey(t, "")
	otherHost, _ := gittest.SSHKey(t, "")
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ssh://git@"), "/remote.git")
	wrongHosts := writeFile(t, "wrong_known_hosts", knownhosts.Line([]string{addr}, otherHost)+"\n")
	unknownHosts := writeFile(t, "unknown_known_hosts", knownhosts.Line([]string{"192.0.2.1:22"}, otherHost)+"\n")
	tests := []struct {
		name string
		auth Auth
		want string
	}{
		{"key and known_hosts", Auth{SSHKeyFile: keyFile, KnownHostsFile: knownHosts}, ""},
		{"host key mismatch", Auth{SSHKeyFile: keyFile, KnownHostsFile: wrongHosts}, "host key mismatch"},
		{"unknown host", Auth{SSHKeyFile: keyFile, KnownHostsFile: unknownHosts}, "unknown host"},
		{"wrong client key", Auth{SSHKeyFile: otherKeyFile, KnownHostsFile: knownHosts}, "unable to authenticate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkFetch(t, url, tt.auth, head, tt.want) })
	}
}

func TestSourceSSHEncryptedKey(t *testing.T) {
	r, head := pushedRemote(t)
	clientKey, keyFile := gittest.SSHKey(t, testPass)
	url, hostLine := gittest.ServeSSH(t, r.URL(), clientKey)
	auth := Auth{SSHKeyFile: keyFile, SSHKeyPassphrase: testPass, KnownHostsFile: writeFile(t, "kh", hostLine+"\n")}
	src, err := sourceFor(t, url, auth)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := src.Fetch(context.Background()); err != nil || got != head {
		t.Fatalf("fetch = %s, %v; want %s", got, err, head)
	}
	auth.SSHKeyPassphrase = "wrong-" + testToken
	_, err = sourceFor(t, url, auth)
	if err == nil || !strings.Contains(err.Error(), "read private key") {
		t.Fatalf("wrong passphrase: err = %v", err)
	}
	assertNoSecret(t, "error", err.Error())
}

func TestSourceSSHRefusesWithoutKnownHosts(t *testing.T) {
	_, keyFile := gittest.SSHKey(t, "")
	tests := []struct {
		name, knownHosts, want string
	}{
		{"none configured", "", "known_hosts file is required"},
		{"file missing", filepath.Join(t.TempDir(), "nope"), "read known_hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sourceFor(t, "ssh://git@127.0.0.1:1/r.git", Auth{SSHKeyFile: keyFile, KnownHostsFile: tt.knownHosts})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAuthCheck(t *testing.T) {
	tests := []struct {
		name string
		url  string
		auth Auth
		want string // "" means accepted
	}{
		{"anonymous local path", "/tmp/x.git", Auth{}, ""},
		{"token over https", "https://example.com/r.git", Auth{Token: "t"}, ""},
		{"known_hosts default with https", "https://example.com/r.git", Auth{KnownHostsFile: "/nope"}, ""},
		{"two credentials", "https://example.com/r.git", Auth{Token: "t", BearerToken: "b"}, "only one"},
		{"password without user", "https://example.com/r.git", Auth{Password: "p"}, "needs a username"},
		{"key with https", "https://example.com/r.git", Auth{SSHKeyFile: "/k"}, "SSH key or passphrase does not apply"},
		{"token with ssh", "ssh://git@example.com/r.git", Auth{Token: "t"}, "does not apply to an SSH URL"},
		{"token with scp-like ssh", "git@example.com:org/r.git", Auth{Token: "t"}, "does not apply to an SSH URL"},
		{"ssh without key", "ssh://git@example.com/r.git", Auth{KnownHostsFile: "/k"}, "needs a private key"},
		{"token with a local path", "/tmp/x.git", Auth{Token: "t"}, "do not apply to a file URL"},
		{"CA with a local path", "/tmp/x.git", Auth{CAFile: "/ca"}, "do not apply to a file URL"},
		{"missing CA file", "https://example.com/r.git", Auth{CAFile: "/nonexistent/ca.pem"}, "read CA file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newConn(tt.url, tt.auth)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("newConn(%s, %v) err = %v, want %q", tt.url, tt.auth, err, tt.want)
			}
		})
	}
}

func TestAuthPrintsNoSecret(t *testing.T) {
	auths := []Auth{
		{Username: "alice", Password: testPass},
		{Token: testToken},
		{BearerToken: testToken},
		{SSHKeyFile: "/k", SSHKeyPassphrase: testPass, KnownHostsFile: "/kh"},
		{Username: testToken},
	}
	for _, a := range auths {
		cfg := Config{URL: "https://example.com/r.git", Auth: a}
		var logs bytes.Buffer
		slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "auth", a, "cfg", cfg, "token", a.Token)
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "auth", a, "cfg", cfg, "pass", a.Password)
		js, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out := fmt.Sprintf("%v|%+v|%#v|%s|%v|%q|%s|%s", a, a, a, a, cfg, a.Password, logs.String(), js)
		assertNoSecret(t, "printed auth", out)
		if !strings.Contains(out, redacted) {
			t.Fatalf("no %s marker in %s", redacted, out)
		}
	}
}

func TestRedactError(t *testing.T) {
	inner := fmt.Errorf("get https://alice:%s@example.com/r.git and http://%s@example.com/x: %w",
		url.PathEscape(testPass), testToken, transport.ErrAuthenticationRequired)
	wrapped := fmt.Errorf("bearer %s rejected: %w", testToken, inner)
	err := redactError(wrapped, []Secret{testToken, testPass, "abc"})
	msg := err.Error()
	assertNoSecret(t, "redacted error", msg)
	if want := "get https://example.com/r.git and http://example.com/x"; !strings.Contains(msg, want) {
		t.Fatalf("redacted = %q, want it to contain %q", msg, want)
	}
	if !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Fatal("redacted error lost its sentinel")
	}
	var raw interface{ Unwrap() error }
	if errors.As(err, &raw) {
		t.Fatal("errors.As reaches the unredacted chain")
	}
	if got := RedactURL("ssh://git@h/r.git ssh://u:p@h/r.git HTTPS://tok@h/r"); got != "ssh://git@h/r.git ssh://h/r.git HTTPS://h/r" {
		t.Fatalf("RedactURL = %q", got)
	}
	if clean := errors.New("plain"); redactError(clean, []Secret{testToken}) != clean {
		t.Fatal("an error without secrets was rewrapped")
	}
	if got := redactText("abc rejected", []Secret{"abc"}); got != "abc rejected" {
		t.Fatalf("short secret redacted: %q", got)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkFetch fetches url with auth: it must reach head when want is "", else fail with an error
// that contains want and no secret.
func checkFetch(t *testing.T, url string, auth Auth, head, want string) {
	t.Helper()
	src, err := sourceFor(t, url, auth)
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Fetch(context.Background())
	if want == "" {
		if err != nil || got != head {
			t.Fatalf("fetch = %s, %v; want %s", got, err, head)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("fetch err = %v, want %q", err, want)
	}
	assertNoSecret(t, "error", err.Error())
	assertNoSecret(t, "error (%+v)", fmt.Sprintf("%+v", err))
}
