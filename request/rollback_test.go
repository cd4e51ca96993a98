package request

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestRollbackResolveCommitTable(t *testing.T) {
	const (
		a1 = "aaaa111111111111111111111111111111111111"
		a2 = "aaaa222222222222222222222222222222222222"
		b  = "bbbb000000000000000000000000000000000000"
		f  = "ffff000000000000000000000000000000000000"
	)
	entries := []api.HistoryEntry{
		{ID: 1, Commit: api.CommitInfo{Hash: a1, Message: "one"}, Result: api.SyncSynced},
		{ID: 2, Commit: api.CommitInfo{Hash: a2}, Result: api.SyncSynced},
		{ID: 3, Commit: api.CommitInfo{Hash: b}, Result: api.SyncSynced},
		{ID: 4, Commit: api.CommitInfo{Hash: b}, Result: api.SyncSynced, Rollback: true},
		{ID: 5, Commit: api.CommitInfo{Hash: f}, Result: api.SyncFailed},
		{ID: 6, Result: api.SyncFailed, Message: "fetch failed"},
	}
	for _, tc := range []struct {
		prefix, want, err string
	}{
		{prefix: a1, want: a1},
		{prefix: "aaaa1", want: a1},
		{prefix: "AAAA2", want: a2},
		{prefix: "bbbb", want: b},
		{prefix: "aaaa", err: "2 commits of the history match"},
		{prefix: "ffff", err: "it never synced"},
		{prefix: "cccc", err: "not in the history"},
		{prefix: " ", err: "empty prefix"},
	} {
		got, err := ResolveCommit(entries, tc.prefix)
		if tc.err != "" {
			if !errors.Is(err, ErrUnknownCommit) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ResolveCommit(%q) = %v, %v; want an error with %q", tc.prefix, got.Hash, err, tc.err)
			}
			continue
		}
		if err != nil || got.Hash != tc.want {
			t.Errorf("ResolveCommit(%q) = %v, %v; want %s", tc.prefix, got.Hash, err, tc.want)
		}
	}
	if got, _ := ResolveCommit(entries, "aaaa1"); got.Message != "one" {
		t.Errorf("resolved commit lost its info: %+v", got)
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || len(a) != 16 {
		t.Fatalf("ids %q %q", a, b)
	}
}
