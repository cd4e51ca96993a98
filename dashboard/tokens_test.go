package dashboard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTokens(t *testing.T) {
	const long = "0123456789abcdef"
	for _, tc := range []struct {
		name, text, err string
	}{
		{name: "two roles", text: "# logins\n" + long + "a viewer\n\n\t" + long + "b\tadmin  \n"},
		{name: "empty", text: "", err: "tokens: no token"},
		{name: "comments only", text: "# nothing\n\n", err: "tokens: no token"},
		{name: "no role", text: long + "\n", err: "tokens:1: want \"TOKEN ROLE\", got 1 fields"},
		{name: "unknown role", text: "\n" + long + " root\n", err: "tokens:2: role \"root\": want viewer or admin"},
		{name: "short token", text: "secret admin\n", err: "tokens:1: token of 6 characters: want at least 16"},
		{name: "twice", text: long + " admin\n" + long + " viewer\n", err: "tokens:2: token listed twice"},
		{name: "three fields", text: long + " admin extra\n", err: "tokens:1: want \"TOKEN ROLE\", got 3 fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := ParseTokens("tokens", []byte(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := tk.Role(long + "a"); !ok || r != RoleViewer {
				t.Errorf("viewer token: %q %t", r, ok)
			}
			if r, ok := tk.Role(long + "b"); !ok || r != RoleAdmin {
				t.Errorf("admin token: %q %t", r, ok)
			}
			if _, ok := tk.Role(long); ok {
				t.Error("a prefix of a token logged in")
			}
		})
	}
}

func TestReadTokensMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := ReadTokens(missing); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTokens(empty); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Fatalf("empty file: %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.3.4.5": true, "::1": true, "[::1]": true, "localhost": true, "LocalHost": true,
		"": false, "0.0.0.0": false, "10.0.0.1": false, "example.com": false, "localhost.example.com": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %t, want %t", host, got, want)
		}
	}
}
