package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// TestPushHookAndWebhook: with polling effectively off, a push syncs through the post-receive
// hook and the pusher reads the result (changes, health, or the file:line errors) in the push
// output; a signed webhook requests a sync, a forged one is refused; a push while gitfleet is
// down still succeeds and says so.
func TestPushHookAndWebhook(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	const secret = "push-test-secret"
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	c, remote := newCluster(t, "--poll", "1h", "--webhook-listen", addr, "--webhook-secret-file", secretFile)
	// newCluster pushed the example already: start from an empty tree, so that the hook's push
	// is what deploys it.
	remote.Remove("deploy/web.yaml")
	remote.Write("deploy/.keep", "")
	empty := remote.CommitAndPush("empty")
	c.start()
	c.waitFor("the empty commit applied", 60*time.Second, func() error { return applied(c, empty) })
	out, err := c.cli("hook", "install", remote.URL(), "--timeout", "90s")
	if err != nil || !strings.Contains(out, "hook: installed "+remote.URL()+"/hooks/post-receive") {
		t.Fatalf("hook install: %q, %v", out, err)
	}

	remote.Write("deploy/web.yaml", readFile(t, "../../examples/manifests/web.yaml"))
	web, push := remote.CommitAndPushOutput("deploy web")
	t.Logf("push output:\n%s", push)
	wantLines(t, push,
		"remote: sync: requested ",
		"remote: sync: "+web[:12]+" Synced: 1 created, 0 changed, 0 deleted",
		"remote:   + Deployment/default/web",
		"remote: health: Healthy (2/2 pods running)")
	if _, err := c.runningPods(2); err != nil {
		t.Fatalf("after the hook said Healthy: %v", err)
	}
	checkStatusHealth(t, c, web)

	remote.Write("deploy/broken.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\nspec:\n  replicas: 1\n  replicaz: 2\n")
	broken, push := remote.CommitAndPushOutput("broken")
	t.Logf("push output:\n%s", push)
	wantLines(t, push,
		"remote: sync: "+broken[:12]+" Failed: ",
		"remote:   deploy/broken.yaml:7: ")
	if st, err := c.status(); err != nil || st.AppliedCommit != web {
		t.Fatalf("after the broken push: %+v, %v; want applied %s", st, err, web)
	}

	checkWebhook(t, c, "http://"+addr+"/", secret, broken)

	c.stop(syscall.SIGTERM)
	remote.Remove("deploy/broken.yaml")
	_, push = remote.CommitAndPushOutput("fix while gitfleet is down")
	t.Logf("push output:\n%s", push)
	wantLines(t, push, "remote: gitfleet: not reachable: ")
}

// checkWebhook posts push events for commit to url: a forged signature gets 401 and changes
// nothing, a good one gets 202 and the controller answers its request.
func checkWebhook(t *testing.T, c *cluster, url, secret, commit string) {
	t.Helper()
	body := fmt.Sprintf(`{"ref":"refs/heads/main","after":%q}`, commit)
	code, reply := postHook(t, url, body, "sha256="+hmacHex("not the secret", body))
	if code != http.StatusUnauthorized {
		t.Fatalf("forged webhook: %d %q, want 401", code, reply)
	}
	code, reply = postHook(t, url, body, "sha256="+hmacHex(secret, body))
	id, ok := strings.CutPrefix(strings.TrimSpace(reply), "sync requested ")
	if code != http.StatusAccepted || !ok {
		t.Fatalf("signed webhook: %d %q, want 202 sync requested", code, reply)
	}
	c.waitFor("the controller answers the webhook's request", 30*time.Second, func() error {
		var st struct {
			RequestID string `json:"requestID"`
		}
		out, err := c.cli("status", "-o", "json")
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			return err
		}
		if st.RequestID != id {
			return fmt.Errorf("requestID %q, want %q", st.RequestID, id)
		}
		return nil
	})
}

func postHook(t *testing.T, url, body, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post webhook: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func hmacHex(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

// checkStatusHealth checks that status -o json reports commit Healthy, with the web Deployment.
func checkStatusHealth(t *testing.T, c *cluster, commit string) {
	t.Helper()
	var st struct {
		AppliedCommit string `json:"appliedCommit"`
		Health        string `json:"health"`
		Objects       []struct {
			Key    struct{ Kind, Namespace, Name string } `json:"key"`
			Health string                                 `json:"health"`
		} `json:"objects"`
	}
	out, err := c.cli("status", "-o", "json")
	if err == nil {
		err = json.Unmarshal([]byte(out), &st)
	}
	if err != nil || st.AppliedCommit != commit || st.Health != "Healthy" || len(st.Objects) != 1 ||
		st.Objects[0].Key.Name != "web" || st.Objects[0].Health != "Healthy" {
		t.Fatalf("status = %+v, %v; want %s Healthy with web Healthy\n%s", st, err, commit, out)
	}
}

// applied returns nil once commit is applied and Synced.
func applied(c *cluster, commit string) error {
	st, err := c.status()
	if err != nil {
		return err
	}
	if st.AppliedCommit != commit || st.Sync != "Synced" {
		return fmt.Errorf("status %+v, want Synced at %s", st, commit)
	}
	return nil
}

// wantLines checks that out has, in this order, lines starting with each of prefixes.
func wantLines(t *testing.T, out string, prefixes ...string) {
	t.Helper()
	lines := strings.Split(strings.ReplaceAll(out, "\x1b[K", ""), "\n")
	i := 0
	for _, l := range lines {
		if i < len(prefixes) && strings.HasPrefix(strings.TrimRight(l, " \r"), prefixes[i]) {
			i++
		}
	}
	if i < len(prefixes) {
		t.Fatalf("output lacks a line starting %q (after the ones before it):\n%s", prefixes[i], out)
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
