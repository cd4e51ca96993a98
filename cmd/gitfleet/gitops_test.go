package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// webDesiredKey is the etcd key of the example's Deployment.
const webDesiredKey = "/gitfleet/desired/Deployment/default/web"

// TestGitOpsDriftDiffRollback drives the built binary through GitOps days: a desired key changed
// behind git's back comes back; `gitfleet diff` shows what a working tree would change, with
// its exit codes; a rollback holds the source at an old commit while pushes are seen, not
// applied, until `sync --resume`; history lists every step.
func TestGitOpsDriftDiffRollback(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	c, remote := newCluster(t)
	a := remote.Head() // the example: replicas 2
	c.start()
	var pods []podJSON
	c.waitFor("2 pods running", 90*time.Second, func() (err error) {
		pods, err = c.runningPods(2)
		return err
	})

	checkDriftReverted(t, c, podNames(pods))
	checkDiff(t, c)
	checkRollbackAndResume(t, c, remote, a)
}

// checkDriftReverted overwrites the Deployment's desired key with 5 replicas, then deletes it,
// and checks each time that the controller restores the git version (2 replicas); the first
// time the same two Pods keep running.
func checkDriftReverted(t *testing.T, c *cluster, names []string) {
	ctx := context.Background()
	etcd := c.connect().Client()
	resp, err := etcd.Get(ctx, webDesiredKey)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v, %d values", webDesiredKey, err, len(resp.Kvs))
	}
	var obj map[string]any
	if err := json.Unmarshal(resp.Kvs[0].Value, &obj); err != nil {
		t.Fatal(err)
	}
	obj["spec"].(map[string]any)["replicas"] = 5
	drifted, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcd.Put(ctx, webDesiredKey, string(drifted)); err != nil {
		t.Fatalf("put drift: %v", err)
	}
	c.waitFor("desired replicas back to 2 after the put", 30*time.Second, func() error { return desiredReplicas(c, 2) })
	c.waitFor("the same 2 pods running", 30*time.Second, func() error {
		now, err := c.runningPods(2)
		if err != nil {
			return err
		}
		if got, want := strings.Join(podNames(now), " "), strings.Join(names, " "); got != want {
			return fmt.Errorf("pods %s, want %s", got, want)
		}
		return nil
	})
	t.Logf("drift to 5 replicas reverted; pods %v kept", names)

	if _, err := etcd.Delete(ctx, webDesiredKey); err != nil {
		t.Fatalf("delete desired key: %v", err)
	}
	c.waitFor("desired key back after the delete", 30*time.Second, func() error { return desiredReplicas(c, 2) })
	c.waitFor("2 pods running after the delete", 60*time.Second, func() error {
		_, err := c.runningPods(2)
		return err
	})
	t.Logf("deleted desired key restored")
}

// desiredReplicas returns nil once the Deployment's desired key holds want replicas.
func desiredReplicas(c *cluster, want int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.connect().Client().Get(ctx, webDesiredKey)
	if err != nil {
		return err
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("%s is missing", webDesiredKey)
	}
	var d struct {
		Spec struct {
			Replicas int `json:"replicas"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &d); err != nil {
		return err
	}
	if d.Spec.Replicas != want {
		return fmt.Errorf("desired replicas %d, want %d", d.Spec.Replicas, want)
	}
	return nil
}

// checkDiff runs `gitfleet diff` on working trees against the live example (replicas 2): one
// with 3 replicas (exit 1, a -/+ line pair), the unchanged one (exit 0, no output) and a broken
// one (exit 2, file:line on stderr).
func checkDiff(t *testing.T, c *cluster) {
	example := readFile(t, "../../examples/manifests/web.yaml")
	scaled := tree(t, "web.yaml", strings.Replace(example, "replicas: 2", "replicas: 3", 1))
	out, stderr, code, err := c.cliExit("diff", scaled)
	t.Logf("gitfleet diff (replicas 3):\n%s", out)
	if err != nil || code != 1 {
		t.Fatalf("diff of a scaled tree: exit %d, %v, want 1\n%s%s", code, err, out, stderr)
	}
	for _, want := range []string{
		"diff -u live/Deployment/default/web git/Deployment/default/web\n--- live/Deployment/default/web\n+++ git/Deployment/default/web\n",
		"\n-  replicas: 2\n+  replicas: 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("diff output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") || strings.Contains(out, "gitfleet.io/") {
		t.Fatalf("diff to a pipe has colour or controller annotations:\n%s", out)
	}
	if col, _, code, _ := c.cliExit("diff", "--color=always", scaled); code != 1 || !strings.Contains(col, "\x1b[31m-  replicas: 2\x1b[0m\n\x1b[32m+  replicas: 3\x1b[0m\n") {
		t.Fatalf("diff --color=always: exit %d, want 1 and red/green lines:\n%q", code, col)
	}

	out, stderr, code, err = c.cliExit("diff", tree(t, "web.yaml", example))
	if err != nil || code != 0 || out != "" {
		t.Fatalf("diff of the unchanged tree: exit %d, %v, output %q, want 0 and none\n%s", code, err, out, stderr)
	}
	broken := tree(t, "web.yaml", strings.Replace(example, "replicas: 2", "replicaz: 2", 1))
	out, stderr, code, err = c.cliExit("diff", broken)
	if err != nil || code != 2 || !strings.Contains(stderr, "web.yaml:9: ") {
		t.Fatalf("diff of a broken tree: exit %d, %v, want 2 with web.yaml:9\n%s%s", code, err, out, stderr)
	}
}

// tree writes a working tree of one file and returns its directory.
func tree(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkRollbackAndResume: with commit a (2 replicas) applied, push b (3), roll back to a, push
// c (4) while pinned, then resume; status, Pods and history follow each step.
func checkRollbackAndResume(t *testing.T, c *cluster, remote *gittest.Remote, a string) {
	example := readFile(t, "../../examples/manifests/web.yaml")
	scale := func(n int, msg string) string {
		remote.Write("deploy/web.yaml", strings.Replace(example, "replicas: 2", fmt.Sprintf("replicas: %d", n), 1))
		return remote.CommitAndPush(msg)
	}
	b := scale(3, "scale to 3")
	c.waitFor("3 pods running at b", 60*time.Second, func() error {
		if err := applied(c, b); err != nil {
			return err
		}
		_, err := c.runningPods(3)
		return err
	})

	if out, err := c.cli("rollback", a[:12]); err != nil {
		t.Fatalf("rollback: %v\n%s", err, out)
	} else {
		t.Logf("gitfleet rollback:\n%s", out)
	}
	if st, err := c.status(); err != nil || st.PinnedCommit != a || st.AppliedCommit != a {
		t.Fatalf("status after rollback = %+v, %v; want pinned and applied %s", st, err, a)
	}
	c.waitFor("2 pods running after the rollback", 60*time.Second, func() error {
		_, err := c.runningPods(2)
		return err
	})

	cc := scale(4, "scale to 4")
	c.waitFor("c seen, not applied", 30*time.Second, func() error {
		st, err := c.status()
		if err != nil {
			return err
		}
		if st.SeenCommit != cc || st.AppliedCommit != a || st.PinnedCommit != a {
			return fmt.Errorf("status %+v, want seen %s, applied and pinned %s", st, cc, a)
		}
		return nil
	})
	if err := desiredReplicas(c, 2); err != nil {
		t.Fatalf("pinned, c seen: %v", err)
	}
	if _, err := c.runningPods(2); err != nil {
		t.Fatalf("pinned, c seen: %v", err)
	}

	out, err := c.cli("sync", "--resume", "--wait", "--timeout", "90s")
	t.Logf("gitfleet sync --resume --wait:\n%s", out)
	if err != nil {
		t.Fatalf("sync --resume --wait: %v\n%s", err, out)
	}
	if _, err := c.runningPods(4); err != nil {
		t.Fatalf("after sync --resume --wait: %v", err)
	}
	if st, err := c.status(); err != nil || st.PinnedCommit != "" || st.AppliedCommit != cc {
		t.Fatalf("status after resume = %+v, %v; want applied %s, no pin", st, err, cc)
	}
	checkHistory(t, c, a, b, cc)
}

// checkHistory checks that history lists, in this order, syncs of a, b, the rollback to a and c.
func checkHistory(t *testing.T, c *cluster, a, b, cc string) {
	t.Helper()
	hist, err := c.history()
	if err != nil {
		t.Fatal(err)
	}
	if table, err := c.cli("history"); err == nil {
		t.Logf("gitfleet history:\n%s", table)
	}
	want := []historyJSON{{Result: "Synced"}, {Result: "Synced"}, {Result: "Synced", Rollback: true}, {Result: "Synced"}}
	for i, h := range []string{a, b, a, cc} {
		want[i].Commit.Hash = h
	}
	i := 0
	for _, e := range hist {
		if i < len(want) && e == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Fatalf("history lacks %+v (after the ones before it): %+v", want[i], hist)
	}
}
