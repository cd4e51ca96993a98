package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/source"
)

func parseGitAuth(t *testing.T, env map[string]string, args ...string) (source.Auth, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := gitAuthFlags{getenv: func(k string) string { return env[k] }}
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f.auth()
}

func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGitAuthFlags(t *testing.T) {
	tokenFile := secretFile(t, "tok-from-file\n")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want source.Auth
	}{
		{"token file", nil, []string{"--git-token-file", tokenFile}, source.Auth{Token: "tok-from-file"}},
		{"token file wins over env", map[string]string{envGitToken: "env-tok"},
			[]string{"--git-token-file", tokenFile}, source.Auth{Token: "tok-from-file"}},
		{"token env", map[string]string{envGitToken: "env-tok"}, nil, source.Auth{Token: "env-tok"}},
		{"bearer", nil, []string{"--git-token-file", tokenFile, "--git-token-scheme", "bearer"},
			source.Auth{BearerToken: "tok-from-file"}},
		{"password env", map[string]string{envGitPassword: "pw"}, []string{"--git-username", "alice"},
			source.Auth{Username: "alice", Password: "pw"}},
		{"ssh", map[string]string{envGitSSHPassphrase: "pp"},
			[]string{"--git-ssh-key-file", "/k", "--git-ssh-known-hosts", "/kh", "--git-ca-file", "/ca"},
			source.Auth{SSHKeyFile: "/k", SSHKeyPassphrase: "pp", KnownHostsFile: "/kh", CAFile: "/ca"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--git-ssh-known-hosts", ""}, tt.args...)
			got, err := parseGitAuth(t, tt.env, args...)
			if err != nil || got != tt.want {
				t.Fatalf("auth = %s (%q %q), %v; want %s", got, got.Token, got.BearerToken, err, tt.want)
			}
		})
	}
}

func TestGitAuthFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--git-token-file", filepath.Join(t.TempDir(), "nope")}, "read --git-token-file"},
		{[]string{"--git-password-file", secretFile(t, "\n")}, "is empty"},
		{[]string{"--git-token-scheme", "digest"}, "neither basic nor bearer"},
	}
	for _, tt := range tests {
		if _, err := parseGitAuth(t, nil, tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("%v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestGitAuthKnownHostsDefault(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	got, err := parseGitAuth(t, nil)
	if want := filepath.Join(home, ".ssh", "known_hosts"); err != nil || got.KnownHostsFile != want {
		t.Fatalf("known hosts = %q, %v; want %s", got.KnownHostsFile, err, want)
	}
}

func TestRepoURLCredentialsRefused(t *testing.T) {
	tests := []struct {
		repo    string
		refused bool
	}{
		{"https://alice:s3cret@git.example.com/org/repo.git", true},
		{"https://ghp_token@github.com/org/repo.git", true},
		{"http://x-access-token:tok@127.0.0.1:8080/repo.git", true},
		{"https://git.example.com/org/repo.git", false},
		{"ssh://git@git.example.com/org/repo.git", false},
		{"git@github.com:org/repo.git", false},
		{"/srv/git/repo", false},
	}
	for _, tt := range tests {
		f := sourceFlags{repo: tt.repo, auth: gitAuthFlags{getenv: func(string) string { return "" }}}
		_, err := f.config(t.TempDir())
		if refused := errors.Is(err, errRepoCredentials); refused != tt.refused {
			t.Errorf("config(--repo %s) = %v; refused %t, want %t", tt.repo, err, refused, tt.refused)
		}
	}
	if !strings.Contains(errRepoCredentials.Error(), "--git-token-file") {
		t.Fatalf("the refusal names no way out: %v", errRepoCredentials)
	}
}
