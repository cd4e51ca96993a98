package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

const testToken = "s3cret-token-for-test"

// TestPrivateRepoHTTPS runs the example from a repository served over HTTPS with a token (git
// http-backend behind TLS on loopback) and checks that the token shows nowhere: not in status,
// not in gitfleet's logs.
func TestPrivateRepoHTTPS(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	runPrivate(t, func(remote *gittest.Remote, dir string) []string {
		url, ca := gittest.ServeHTTP(t, remote.URL(), testToken)
		tokenFile := writeTestFile(t, dir, "token", testToken+"\n")
		return []string{"--repo", url, "--git-token-file", tokenFile, "--git-ca-file", ca}
	})
}

// TestPrivateRepoSSH runs the example from a repository served over SSH with a client key and
// a known_hosts file.
func TestPrivateRepoSSH(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	runPrivate(t, func(remote *gittest.Remote, dir string) []string {
		pub, keyFile := gittest.SSHKey(t, "")
		url, hostLine := gittest.ServeSSH(t, remote.URL(), pub)
		known := writeTestFile(t, dir, "known_hosts", hostLine+"\n")
		return []string{"--repo", url, "--git-ssh-key-file", keyFile, "--git-ssh-known-hosts", known}
	})
}

// runPrivate starts gitfleet on the remote served as serve says (its flags come after the
// local --repo of newCluster, so they win) and waits for the example to run from it.
func runPrivate(t *testing.T, serve func(*gittest.Remote, string) []string) {
	t.Helper()
	c, remote := newCluster(t)
	private := serve(remote, t.TempDir())
	c.args = append(c.args, private...)
	c.start()
	head := remote.Head()
	c.waitFor("2 pods running from the private repo", 90*time.Second, func() error {
		st, err := c.status()
		if err != nil {
			return err
		}
		if st.AppliedCommit != head {
			return fmt.Errorf("applied %q, want %s (sync %s, errors %v)", st.AppliedCommit, head, st.Sync, st.Errors)
		}
		_, err = c.runningPods(2)
		return err
	})
	status, err := c.cli("status", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	c.stop(syscall.SIGTERM)
	if !strings.Contains(c.logs.String(), "repo="+private[1]) {
		t.Fatalf("gitfleet did not follow %s:\n%s", private[1], tail(c.logs.String(), 20))
	}
	if strings.Contains(status, testToken) || strings.Contains(c.logs.String(), testToken) {
		t.Fatalf("the token appears in status or logs:\n%s\n%s", status, c.logs.String())
	}
}

func writeTestFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
