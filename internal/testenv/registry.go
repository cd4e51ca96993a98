package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// EnvRegistryBin names the registry binary; "docker-registry" (Debian's docker-registry package)
// on PATH when unset.
const EnvRegistryBin = "GITFLEET_REGISTRY_BIN"

// RequireRegistry returns the path of an image registry binary, or skips t when none is
// installed. Call it before netnstest.Run, so a missing registry costs no namespace.
func RequireRegistry(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(EnvRegistryBin)
	if bin == "" {
		bin = "docker-registry"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Skipf("needs an image registry binary (apt install docker-registry, or set %s): %v", EnvRegistryBin, err)
	}
	return path
}

// StartRegistry runs the registry binary at path (see RequireRegistry) as a plain-HTTP image
// registry on a free 127.0.0.1 port for the duration of t and returns its host:port, for tests
// of pulling images. Run it inside netnstest.Run so the port is the test's own.
func StartRegistry(t testing.TB, path string) string {
	t.Helper()
	return startRegistry(t, path, "")
}

// StartRegistryAuth is StartRegistry with a registry that lets only user with password in
// (htpasswd auth: a 401 with a Basic challenge to anyone else).
func StartRegistryAuth(t testing.TB, path, user, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(file, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startRegistry(t, path, fmt.Sprintf("auth:\n  htpasswd:\n    realm: gitfleet-test\n    path: %s\n", file))
}

func startRegistry(t testing.TB, path, auth string) string {
	t.Helper()
	host := freeLoopbackAddr(t)
	dir := t.TempDir()
	conf := fmt.Sprintf("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n%s",
		filepath.Join(dir, "data"), host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "serve", filepath.Join(dir, "config.yml"))
	cmd.Stdout, cmd.Stderr = nil, nil // its access log is noise
	if err := cmd.Start(); err != nil {
		t.Fatalf("start registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitHTTP(t, "http://"+host+"/v2/")
	return host
}

func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitHTTP(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("registry at %s never answered: %v", url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
