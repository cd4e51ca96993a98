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
	id, err = s.CommitSync(ctx, store.SyncRecord{Status: st, History: &api.HistoryEntry{Result: api.SyncFailed, Message: "fetch failed"}})
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
	if _, err := s.CommitSync(ctx, store.SyncRecord{Status: api.SyncStatus{Source: "other"}, History: &api.HistoryEntry{}}); err != nil {
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

func TestStoreRequestSyncAndControl(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	c, err := s.GetControl(ctx, "default")
	if err != nil || c.Pin != nil || c.Request != nil {
		t.Fatalf("control before any = %+v, %v", c, err)
	}
	// A request alone, then a request that pins, then one that unpins: each one revision.
	steps := []struct {
		req     api.SyncRequest
		pc      store.PinChange
		wantPin string
	}{
		{api.SyncRequest{ID: "r1", AllowMassPrune: true}, store.PinChange{}, ""},
		{api.SyncRequest{ID: "r2"}, store.PinChange{Set: &api.Pin{Commit: "def", Time: "t"}}, "def"},
		{api.SyncRequest{ID: "r3"}, store.PinChange{}, "def"},
		{api.SyncRequest{ID: "r4"}, store.PinChange{Remove: true}, ""},
		{api.SyncRequest{ID: "r5"}, store.PinChange{Remove: true}, ""}, // removing twice is fine
	}
	for _, step := range steps {
		before, _ := s.Revision(ctx)
		rev, err := s.RequestSync(ctx, "default", step.req, step.pc)
		if err != nil || rev != before+1 {
			t.Fatalf("request %s: revision %d, %v; want %d", step.req.ID, rev, err, before+1)
		}
		c, err := s.GetControl(ctx, "default")
		if err != nil || c.Request == nil || c.Request.ID != step.req.ID || c.Request.Revision != rev ||
			c.Request.AllowMassPrune != step.req.AllowMassPrune {
			t.Fatalf("control after %s = %+v, %v", step.req.ID, c.Request, err)
		}
		if pin := ""; c.Pin != nil {
			pin = c.Pin.Commit
			if pin != step.wantPin {
				t.Fatalf("pin after %s = %q, want %q", step.req.ID, pin, step.wantPin)
			}
		} else if step.wantPin != "" {
			t.Fatalf("no pin after %s, want %q", step.req.ID, step.wantPin)
		}
	}
	if c, _ := s.GetControl(ctx, "other"); c.Pin != nil || c.Request != nil {
		t.Fatalf("control of another source = %+v", c)
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
	if _, err := s.RequestSync(ctx, "default", api.SyncRequest{ID: "r1"}, store.PinChange{Set: &api.Pin{Commit: "abc"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RequestSync(ctx, "default", api.SyncRequest{ID: "r2"}, store.PinChange{Remove: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []store.Event{{Resource: store.SyncRequest, Name: "default"}, {Resource: store.Pin, Name: "default"},
		{Resource: store.SyncRequest, Name: "default"}, {Resource: store.Pin, Name: "default", Deleted: true}} {
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

// The automatic rollback's writes: a history entry marked Healthy once, a pin set and removed
// only while no one else changed it.
func TestStoreMarkHealthyAndPinCAS(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	st := api.SyncStatus{Source: "default", AppliedCommit: "c1", Sync: api.SyncSynced}
	id, err := s.CommitSync(ctx, store.SyncRecord{Status: st, History: &api.HistoryEntry{Commit: api.CommitInfo{Hash: "c1"}, Result: api.SyncSynced}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second is a no-op
		if err := s.MarkHealthy(ctx, "default", id); err != nil {
			t.Fatalf("mark healthy: %v", err)
		}
	}
	if h, err := s.ListHistory(ctx, "default"); err != nil || len(h) != 1 || !h[0].Healthy || h[0].Commit.Hash != "c1" {
		t.Fatalf("history = %+v, %v; want c1 healthy", h, err)
	}
	if err := s.MarkHealthy(ctx, "default", id+1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("mark a missing entry: %v, want ErrNotFound", err)
	}

	pin := api.Pin{Commit: "c1", From: "c2", Reason: "web ProgressDeadlineExceeded"}
	if err := s.SetPin(ctx, "default", pin, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPin(ctx, "default", pin, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("pin over a pin: %v, want ErrConflict", err)
	}
	ctl, err := s.GetControl(ctx, "default")
	if err != nil || ctl.Pin == nil || ctl.Pin.From != "c2" || ctl.Pin.Reason != pin.Reason || ctl.Pin.Revision == 0 {
		t.Fatalf("control = %+v, %v", ctl.Pin, err)
	}
	// A user pins by hand meanwhile: the controller's removal loses.
	if _, err := s.RequestSync(ctx, "default", api.SyncRequest{ID: "r"}, store.PinChange{Set: &api.Pin{Commit: "c0"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemovePin(ctx, "default", ctl.Pin.Revision); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("remove a changed pin: %v, want ErrConflict", err)
	}
	ctl, _ = s.GetControl(ctx, "default")
	if err := s.RemovePin(ctx, "default", ctl.Pin.Revision); err != nil {
		t.Fatal(err)
	}
	if ctl, err = s.GetControl(ctx, "default"); err != nil || ctl.Pin != nil {
		t.Fatalf("pin after removal: %+v, %v", ctl.Pin, err)
	}
}
