package reconciler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

func historyOf(t *testing.T, e *syncEnv) []api.HistoryEntry {
	t.Helper()
	h, err := e.st.ListHistory(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Every attempt is one entry, in order: applied, applied without changes, drift reverted,
// rejected, fetch failed. Passes that change nothing record nothing.
func TestHistoryRecordsEveryAttempt(t *testing.T) {
	e := newSyncEnv(t, time.Hour)
	c1 := e.remote.Head()
	st := e.sync(t)
	if st.Commit.Hash != c1 || st.Commit.Author != "gittest" || st.Commit.Message != "add web" {
		t.Fatalf("status commit = %+v", st.Commit)
	}
	if _, err := time.Parse(time.RFC3339, st.Commit.Time); err != nil {
		t.Fatalf("commit time %q: %v", st.Commit.Time, err)
	}
	e.sync(t) // idle

	e.remote.Write("README.md", "docs\n")
	c2 := e.remote.CommitAndPush("docs only\n\nwith a body that history leaves out")
	e.sync(t)

	storetest.Delete(t, e.st, store.Desired, "Deployment/default/web")
	e.sync(t)

	e.remote.Write("deploy/bad.yaml", "kind: Nope\n")
	c3 := e.remote.CommitAndPush("bad")
	e.sync(t)
	e.sync(t) // idle over the bad commit

	e.remote.Break()
	for i := 0; i < 2; i++ {
		if _, err := e.ctrl.SyncOnce(context.Background()); err == nil {
			t.Fatal("sync from a removed remote succeeded")
		}
	}

	h := historyOf(t, e)
	type row struct {
		id      int64
		commit  string
		result  string
		changes string
		message string
	}
	want := []row{
		{1, c1, api.SyncSynced, "+ Deployment/default/web", ""},
		{2, c2, api.SyncSynced, "", ""},
		{3, c2, api.SyncSynced, "+ Deployment/default/web", "reverted 1 desired objects changed outside git"},
		{4, c3, api.SyncFailed, "", "commit " + c3[:12] + " has 1 errors; nothing from it was applied"},
		{5, "", api.SyncFailed, "", "fetch failed: "},
	}
	if len(h) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(h), len(want), h)
	}
	for i, w := range want {
		g := h[i]
		got := row{g.ID, g.Commit.Hash, g.Result, strings.Join(g.Changes, ","), g.Message}
		if got.id != w.id || got.commit != w.commit || got.result != w.result || got.changes != w.changes ||
			!strings.HasPrefix(got.message, w.message) || (w.message == "" && got.message != "") {
			t.Errorf("entry %d = %+v, want %+v", i, got, w)
		}
		if g.Source != "default" || g.Time != "2026-01-02T03:04:05Z" || g.Rollback {
			t.Errorf("entry %d: source %q, time %q, rollback %t", i, g.Source, g.Time, g.Rollback)
		}
	}
	if h[0].Summary.Created != 1 || h[1].Summary.Unchanged != 1 || h[1].Commit.Message != "docs only" {
		t.Errorf("entries 1 and 2 = %+v, %+v", h[0], h[1])
	}
	if len(h[3].Errors) != 1 || h[3].Errors[0].File != "deploy/bad.yaml" {
		t.Errorf("errors of the bad commit = %+v", h[3].Errors)
	}
}

func TestHistoryKeepsTheLastEntries(t *testing.T) {
	e := newSyncEnv(t, time.Hour)
	e.ctrl = New(e.st, e.ctrl.repo, fixture.Logger(t), Options{Now: fixedNow, HistoryLimit: 3})
	var commits []string
	for i := 1; i <= 5; i++ {
		e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", i, "nginx:1.27"))
		commits = append(commits, e.remote.CommitAndPush(fmt.Sprintf("scale to %d", i)))
		e.sync(t)
	}
	h := historyOf(t, e)
	var ids []int64
	for _, en := range h {
		ids = append(ids, en.ID)
	}
	if !slices.Equal(ids, []int64{3, 4, 5}) || h[2].Commit.Hash != commits[4] {
		t.Fatalf("ids = %v, last = %+v", ids, h[len(h)-1])
	}
}

func TestHistoryChangeLinesAreBounded(t *testing.T) {
	cs := fakeChangeSet(0, 10, 3)
	if got := changeLines(cs, 20); len(got) != 10 || got[0] != "+ Deployment/default/create-0" {
		t.Fatalf("lines = %v", got)
	}
	got := changeLines(cs, 4)
	if len(got) != 4 || got[3] != "... and 7 more" {
		t.Fatalf("bounded lines = %v", got)
	}
	if got := changeLines(fakeChangeSet(0, 0, 3), 4); got != nil {
		t.Fatalf("lines of an empty set = %v", got)
	}
}
