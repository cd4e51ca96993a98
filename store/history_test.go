package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

func historyIDs(t *testing.T, s *store.Store, source string) []int64 {
	t.Helper()
	entries, err := s.ListHistory(context.Background(), source)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(entries))
	for i, e := range entries {
		if e.Source != source {
			t.Fatalf("entry %d has source %q, want %q", e.ID, e.Source, source)
		}
		ids[i] = e.ID
	}
	return ids
}

// The history entry is part of the sync transaction: it appears with the writes and the status,
// and a commit that loses a compare-and-swap leaves no entry and does not use up an ID.
func TestStoreHistoryCommitsWithSync(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	a := deployment("a", 1)
	st := api.SyncStatus{Source: "default", AppliedCommit: "c1", Sync: api.SyncSynced}
	entry := &api.HistoryEntry{Commit: api.CommitInfo{Hash: "c1"}, Result: api.SyncSynced,
		Changes: []string{"+ Deployment/default/a"}}
	id, err := s.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(a), Object: a}},
		Status: st, History: entry})
	if err != nil || id != 1 {
		t.Fatalf("first commit: id %d, %v; want 1", id, err)
	}
	// Stale: a exists, but the write says it must not.
	_, err = s.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(a), Object: a}},
		Status: st, History: entry})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale commit: %v, want ErrConflict", err)
	}
	st.Sync, st.Message = api.SyncFailed, "fetch failed"
	id, err = s.PutSyncWithHistory(ctx, st, api.HistoryEntry{Result: api.SyncFailed, Message: "fetch failed"})
	if err != nil || id != 2 {
		t.Fatalf("failure record: id %d, %v; want 2", id, err)
	}
	entries, err := s.ListHistory(ctx, "default")
	if err != nil || len(entries) != 2 {
		t.Fatalf("history = %+v, %v", entries, err)
	}
	if e := entries[0]; e.ID != 1 || e.Commit.Hash != "c1" || len(e.Changes) != 1 || e.Source != "default" {
		t.Fatalf("entry 1 = %+v", e)
	}
	if e := entries[1]; e.ID != 2 || e.Result != api.SyncFailed || e.Message != "fetch failed" {
		t.Fatalf("entry 2 = %+v", e)
	}
	if got, _ := s.GetSync(ctx, "default"); got.Sync != api.SyncFailed {
		t.Fatalf("status = %+v", got)
	}
	// Without an entry, CommitSync records no history.
	if id, err := s.CommitSync(ctx, store.SyncRecord{Status: st}); err != nil || id != 0 {
		t.Fatalf("commit without entry: id %d, %v", id, err)
	}
	if ids := historyIDs(t, s, "default"); len(ids) != 2 {
		t.Fatalf("ids = %v, want 2 entries", ids)
	}
}

// Only the last HistoryLimit entries stay; IDs keep increasing past the limit, per source, and
// sort by number beyond the width of one digit.
func TestStoreHistoryKeepsTheLastEntries(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	for i := 1; i <= 12; i++ {
		st := api.SyncStatus{Source: "default", AppliedCommit: fmt.Sprint(i)}
		if _, err := s.CommitSync(ctx, store.SyncRecord{Status: st, History: &api.HistoryEntry{}, HistoryLimit: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutSyncWithHistory(ctx, api.SyncStatus{Source: "other"}, api.HistoryEntry{}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(historyIDs(t, s, "default")); got != "[8 9 10 11 12]" {
		t.Fatalf("ids = %s, want [8 9 10 11 12]", got)
	}
	if got := fmt.Sprint(historyIDs(t, s, "other")); got != "[1]" {
		t.Fatalf("ids of other = %s, want [1]", got)
	}
	if got := fmt.Sprint(historyIDs(t, s, "nothing")); got != "[]" {
		t.Fatalf("ids of a source without history = %s", got)
	}
}

func TestStorePinAndRequest(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	if _, err := s.GetPin(ctx, "default"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pin before any: %v, want ErrNotFound", err)
	}
	if _, err := s.GetSyncRequest(ctx, "default"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("request before any: %v, want ErrNotFound", err)
	}
	c, err := s.GetControl(ctx, "default")
	if err != nil || c.Pin != nil || c.Request != nil {
		t.Fatalf("control before any = %+v, %v", c, err)
	}
	if err := s.PutPin(ctx, "default", api.Pin{Commit: "abc", Time: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestSync(ctx, "default", api.SyncRequest{ID: "r1", AllowMassPrune: true}); err != nil {
		t.Fatal(err)
	}
	if pin, err := s.GetPin(ctx, "default"); err != nil || pin.Commit != "abc" {
		t.Fatalf("pin = %+v, %v", pin, err)
	}
	if req, err := s.GetSyncRequest(ctx, "default"); err != nil || req.ID != "r1" || !req.AllowMassPrune {
		t.Fatalf("request = %+v, %v", req, err)
	}
	c, err = s.GetControl(ctx, "default")
	if err != nil || c.Pin == nil || c.Pin.Commit != "abc" || c.Request == nil || c.Request.ID != "r1" {
		t.Fatalf("control = %+v, %v", c, err)
	}
	if c, _ := s.GetControl(ctx, "other"); c.Pin != nil || c.Request != nil {
		t.Fatalf("control of another source = %+v", c)
	}
	for i := 0; i < 2; i++ { // deleting twice is fine
		if err := s.DeletePin(ctx, "default"); err != nil {
			t.Fatalf("delete pin %d: %v", i, err)
		}
	}
	if _, err := s.GetPin(ctx, "default"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pin after delete: %v", err)
	}

	// Pin and request together, then unpin and request together: each pair is one revision.
	if err := s.PinAndRequestSync(ctx, "default", api.Pin{Commit: "def"}, api.SyncRequest{ID: "r2"}); err != nil {
		t.Fatal(err)
	}
	c, err = s.GetControl(ctx, "default")
	if err != nil || c.Pin == nil || c.Pin.Commit != "def" || c.Request.ID != "r2" {
		t.Fatalf("control after pin and request = %+v, %v", c, err)
	}
	rev, _ := s.Revision(ctx)
	if err := s.UnpinAndRequestSync(ctx, "default", api.SyncRequest{ID: "r3"}); err != nil {
		t.Fatal(err)
	}
	c, err = s.GetControl(ctx, "default")
	if err != nil || c.Pin != nil || c.Request.ID != "r3" {
		t.Fatalf("control after unpin and request = %+v, %v", c, err)
	}
	if now, _ := s.Revision(ctx); now != rev+1 {
		t.Fatalf("unpin and request took %d revisions, want 1", now-rev)
	}
}

// The controller learns of pins and requests by watching their keys.
func TestStoreWatchPinAndRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := etcdtest.Start(t)
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pins, reqs := s.Watch(ctx, store.Pin, rev), s.Watch(ctx, store.SyncRequest, rev)
	if err := s.PutPin(ctx, "default", api.Pin{Commit: "abc"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RequestSync(ctx, "default", api.SyncRequest{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePin(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []store.Event{{Resource: store.Pin, Name: "default"}, {Resource: store.SyncRequest, Name: "default"},
		{Resource: store.Pin, Name: "default", Deleted: true}} {
		ch := pins
		if want.Resource == store.SyncRequest {
			ch = reqs
		}
		select {
		case got := <-ch:
			if got.Resource != want.Resource || got.Name != want.Name || got.Deleted != want.Deleted {
				t.Fatalf("change = %+v, want %+v", got, want)
			}
		case <-ctx.Done():
			t.Fatalf("no change %+v seen", want)
		}
	}
}
