package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// rollsBackOnFailure annotates the Deployment of a manifest to roll back on failure.
func rollsBackOnFailure(manifest string) string {
	return strings.Replace(manifest, "  name: web\n",
		"  name: web\n  annotations: {"+api.AnnotationRollbackOnFailure+": \"true\"}\n", 1)
}

// autoRollbackReplicas is the size of TestRolloutRollsBack: 25 % of 8 is 2 Pods of surge and
// 2 unavailable.
const autoRollbackReplicas = 8

// TestRolloutRollsBack pushes through the push hook, with the built binary: web annotated to
// roll back on failure, a missing image with an 8 s deadline: the push output shows the
// rollout's progress, then that it rolled back to the last healthy commit; status shows the
// pin and why, history the rollback; the old Pods keep serving within the bounds throughout;
// then a push of a fixed commit resumes by itself and ends Healthy.
func TestRolloutRollsBack(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	n := autoRollbackReplicas
	start := time.Now()
	phase := func(what string) { t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond)) }
	c, remote := newCluster(t, "--poll", "1h") // pushes sync through the hook alone
	remote.Write("deploy/web.yaml", rollsBackOnFailure(rolloutManifest(0, "v1", "gitfleet.local/busybox:1", 600)))
	remote.CommitAndPush("web: 0 replicas")
	c.start()
	c.waitFor("the first sync", 60*time.Second, func() error {
		st, err := c.status()
		if err == nil && st.Sync != "Synced" {
			err = fmt.Errorf("sync %s", st.Sync)
		}
		return err
	})
	phase("up synced")
	if out, err := c.cli("hook", "install", remote.URL()); err != nil {
		t.Fatalf("hook install: %q, %v", out, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w := watchPods(ctx, t, c.connect()) // before the Pods exist: it learns them from its watch
	remote.Write("deploy/web.yaml", rollsBackOnFailure(rolloutManifest(n, "v1", "gitfleet.local/busybox:1", 600)))
	good, push := remote.CommitAndPushOutput("web v1")
	phase("v1 pushed")
	t.Logf("push output:\n%s", push)
	wantLines(t, push, "remote: web: Healthy", fmt.Sprintf("remote: health: Healthy (%d/%d pods running)", n, n))
	hash := w.waitAll(c, n, "", time.Minute)
	c.waitFor("v1 recorded healthy in the history", 30*time.Second, func() error { return healthyIn(c, good) })

	w.arm()
	remote.Write("deploy/web.yaml", rollsBackOnFailure(rolloutManifest(n, "v2", "gitfleet.local/missing:1", 8)))
	bad, push := remote.CommitAndPushOutput("web: a missing image")
	phase("missing image pushed")
	t.Logf("push output:\n%s", push)
	wantLines(t, push,
		"remote: sync: "+bad[:12]+" Synced: 0 created, 1 changed, 0 deleted",
		"remote:   ~ Deployment/default/web",
		"remote: web: ",
		"remote: web: Degraded: ProgressDeadlineExceeded: no progress for 8s",
		"remote: health: rolled back to "+good[:12]+": web ProgressDeadlineExceeded: ",
		"remote: sync: pinned at "+good[:12]+" by an automatic rollback; the next push resumes")
	if !strings.Contains(push, " updated, ") {
		t.Errorf("no rollout progress line in the push output")
	}
	out, err := c.cli("status")
	if err != nil || !strings.Contains(out, "pinned:    "+good[:12]+" (automatic rollback: web ProgressDeadlineExceeded: ") ||
		!strings.Contains(out, "ErrImagePull") {
		t.Fatalf("status after the rollback: %v\n%s", err, out)
	}
	checkRollbackEntry(t, c, good, bad)
	w.waitAll(c, n, "", time.Minute) // the failing Pods go, the old template is whole again
	if cur, ready, _, _ := w.state(hash); cur != n || ready != n {
		t.Errorf("after the rollback: %d Pods of the old template, %d ready; want %d", cur, ready, n)
	}
	maxPods, minReady, revs := w.bounds()
	t.Logf("bad rollout and rollback: at most %d Pods, at least %d ready over %d revisions", maxPods, minReady, revs)
	if surge, unavailable := (n+3)/4, n/4; maxPods > n+surge || minReady < n-unavailable {
		t.Errorf("bounds broken: %d Pods (at most %d), %d ready (at least %d)", maxPods, n+surge, minReady, n-unavailable)
	}

	remote.Write("deploy/web.yaml", rollsBackOnFailure(rolloutManifest(n, "v3", "gitfleet.local/busybox:1", 60)))
	fixed, push := remote.CommitAndPushOutput("web v3")
	phase("fix pushed")
	t.Logf("push output:\n%s", push)
	wantLines(t, push,
		"remote: sync: "+fixed[:12]+" Synced: 0 created, 1 changed, 0 deleted",
		"remote: sync: resumed the branch: the automatic rollback to "+good[:12]+" is over",
		"remote: web: Healthy",
		fmt.Sprintf("remote: health: Healthy (%d/%d pods running)", n, n))
	if st, err := c.status(); err != nil || st.AppliedCommit != fixed || st.PinnedCommit != "" {
		t.Fatalf("status after the fix: %+v, %v; want %s applied, no pin", st, err, fixed)
	}
}

// healthyIn returns nil once the history marks an entry of commit Healthy.
func healthyIn(c *cluster, commit string) error {
	entries, err := historyEntries(c)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Commit.Hash == commit && e.Healthy {
			return nil
		}
	}
	return fmt.Errorf("no healthy entry of %s in %d entries", commit[:12], len(entries))
}

func historyEntries(c *cluster) ([]api.HistoryEntry, error) {
	out, err := c.cli("history", "-o", "json")
	if err != nil {
		return nil, err
	}
	var h struct {
		Items []api.HistoryEntry `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		return nil, fmt.Errorf("decode history: %w: %s", err, out)
	}
	return h.Items, nil
}

// checkRollbackEntry checks that the last history entry is the automatic rollback from bad to
// good, and that history's table says so.
func checkRollbackEntry(t *testing.T, c *cluster, good, bad string) {
	t.Helper()
	entries, err := historyEntries(c)
	if err != nil || len(entries) == 0 {
		t.Fatalf("history: %v, %v", entries, err)
	}
	e := entries[len(entries)-1]
	if e.Commit.Hash != good || !e.Rollback || e.RollbackFrom != bad || !strings.HasPrefix(e.Message, "automatic rollback: web ProgressDeadlineExceeded: ") {
		t.Fatalf("last history entry = %+v; want the automatic rollback from %s to %s", e, bad[:12], good[:12])
	}
	if table, err := c.cli("history"); err != nil || !strings.Contains(table, "Synced (automatic rollback)") {
		t.Fatalf("history table: %v\n%s", err, table)
	}
}
