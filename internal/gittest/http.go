package gittest

import (
	"crypto/subtle"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ServeHTTP serves the bare repository bareDir read-only over HTTPS on a loopback port, with
// git http-backend behind a self-signed certificate. A non-empty token is required, either as
// the password of HTTP basic auth (any username) or as a bearer token; other requests get 401.
// It returns the repository's URL and a PEM file holding the server's certificate, to trust
// as a CA. The server stops when the test ends.
func ServeHTTP(t testing.TB, bareDir, token string) (url, caFile string) {
	t.Helper()
	backend := filepath.Join(gitExecPath(t), "git-http-backend")
	h := &cgi.Handler{
		Path: backend,
		Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(bareDir), "GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
		InheritEnv: []string{"PATH"},
	}
	srv := httptest.NewUnstartedServer(requireToken(token, h))
	// Clients that reject the certificate are expected; do not log their handshakes.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(block), 0o644); err != nil {
		t.Fatalf("write CA file: %v", err)
	}
	return srv.URL + "/" + filepath.Base(bareDir), caFile
}

// requireToken passes requests that carry token on to next and answers the others 401.
func requireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != "" && !hasToken(r, token) {
			w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func hasToken(r *http.Request, token string) bool {
	got, ok := "", false
	if _, pw, basic := r.BasicAuth(); basic {
		got, ok = pw, true
	} else if bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
		got, ok = bearer, true
	}
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

// gitExecPath is where git keeps its helper programs, such as git-http-backend.
func gitExecPath(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git --exec-path: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// AssertNoSecret fails the test when s holds any of secrets, raw or URL-escaped: what a log
// line, error or status must never show.
func AssertNoSecret(t testing.TB, what, s string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		for _, form := range []string{secret, url.PathEscape(secret), url.QueryEscape(secret)} {
			if strings.Contains(s, form) {
				t.Fatalf("%s contains a secret: %s", what, s)
			}
		}
	}
}
