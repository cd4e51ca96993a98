package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

// TestDashboardFlags: the dashboard is off without --http-listen, serves loopback without a
// token file, and refuses any other address without one, or a bad token file, with a clear
// error.
func TestDashboardFlags(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("0123456789abcdef admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("# none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	site := httpSite{src: &sourceFlags{serviceCIDR: api.DefaultServiceCIDR}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		listen, tokenFile string
		roles             int
		err               string
	}{
		{listen: "", roles: 0},
		{listen: "", tokenFile: tokens, err: "--http-token-file needs --http-listen"},
		{listen: "127.0.0.1:0", roles: 1},
		{listen: "localhost:8080", roles: 1},
		{listen: "[::1]:8080", roles: 1},
		{listen: ":8080", err: "--http-listen :8080 is not a loopback address"},
		{listen: "0.0.0.0:8080", err: "pass --http-token-file FILE"},
		{listen: "10.0.0.1:8080", tokenFile: tokens, roles: 1},
		{listen: "0.0.0.0:8080", tokenFile: filepath.Join(dir, "missing"), err: "--http-token-file: read dashboard tokens"},
		{listen: "0.0.0.0:8080", tokenFile: empty, err: "no token"},
		{listen: "8080", err: "want HOST:PORT"},
	} {
		f := dashboardFlags{listen: tc.listen, tokenFile: tc.tokenFile}
		roles, err := f.roles(site, log)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("--http-listen %q --http-token-file %q: %v, want an error with %q", tc.listen, tc.tokenFile, err, tc.err)
			}
			continue
		}
		if err != nil || len(roles) != tc.roles {
			t.Errorf("--http-listen %q --http-token-file %q: %d roles, %v; want %d", tc.listen, tc.tokenFile, len(roles), err, tc.roles)
		}
	}
}
