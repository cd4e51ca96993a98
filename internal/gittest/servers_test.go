package gittest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/gittest"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func pushed(t *testing.T) (*gittest.Remote, string) {
	t.Helper()
	r := gittest.NewRemote(t)
	r.Write("a.yaml", "a: 1\n")
	return r, r.CommitAndPush("one")
}

func TestServeHTTPRequiresToken(t *testing.T) {
	r, head := pushed(t)
	repoURL, caFile := gittest.ServeHTTP(t, r.URL(), "s3cret")
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(setAuth func(*http.Request)) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, repoURL+"/info/refs?service=git-upload-pack", nil)
		if err != nil {
			t.Fatal(err)
		}
		setAuth(req)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	resp, _ := get(func(*http.Request) {})
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("without token: %s, WWW-Authenticate %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = get(func(r *http.Request) { r.SetBasicAuth("x", "wrong") })
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %s", resp.Status)
	}
	for name, auth := range map[string]func(*http.Request){
		"basic":  func(r *http.Request) { r.SetBasicAuth("anyone", "s3cret") },
		"bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") },
	} {
		resp, body := get(auth)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, head+" refs/heads/main") {
			t.Fatalf("%s: %s, body %q", name, resp.Status, body)
		}
	}
}

func TestServeSSHRunsUploadPack(t *testing.T) {
	r, head := pushed(t)
	clientKey, keyFile := gittest.SSHKey(t, "")
	repoURL, hostLine := gittest.ServeSSH(t, r.URL(), clientKey)
	u, err := url.Parse(repoURL)
	if err != nil || u.User.Username() != "git" || u.Path != "/remote.git" {
		t.Fatalf("url %s: %v", repoURL, err)
	}
	hostKey := hostKeyOf(t, hostLine, u.Host)
	session := func(keyFile string) (*ssh.Session, error) {
		signer := signerFrom(t, keyFile)
		c, err := ssh.Dial("tcp", u.Host, &ssh.ClientConfig{User: "git",
			Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(hostKey)})
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { c.Close() })
		return c.NewSession()
	}
	s, err := session(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	s.Stdin = strings.NewReader("0000") // end the negotiation at once
	out, err := s.Output("git-upload-pack '/remote.git'")
	if err != nil || !strings.Contains(string(out), head+" refs/heads/main") {
		t.Fatalf("upload-pack = %q, %v", out, err)
	}
	s, err = session(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var exit *ssh.ExitError
	if err := s.Run("git-receive-pack '/remote.git'"); !errors.As(err, &exit) || exit.ExitStatus() != 1 {
		t.Fatalf("receive-pack: err = %v, want exit status 1", err)
	}
	_, otherKey := gittest.SSHKey(t, "")
	if _, err := session(otherKey); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("unauthorized key: err = %v", err)
	}
}

// hostKeyOf parses a known_hosts line and checks that it names addr.
func hostKeyOf(t *testing.T, line, addr string) ssh.PublicKey {
	t.Helper()
	_, hosts, key, _, _, err := ssh.ParseKnownHosts([]byte(line))
	if err != nil || len(hosts) != 1 || hosts[0] != knownhosts.Normalize(addr) {
		t.Fatalf("known_hosts line %q: hosts %v, %v; want %s", line, hosts, err, knownhosts.Normalize(addr))
	}
	return key
}

func signerFrom(t *testing.T, keyFile string) ssh.Signer {
	t.Helper()
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}
