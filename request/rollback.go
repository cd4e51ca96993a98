package request

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// ErrUnknownCommit is wrapped by ResolveCommit's error for a prefix that names no commit, or
// more than one, of the history.
var ErrUnknownCommit = errors.New("no single commit in the history")

// ResolveCommit returns the commit of the history whose hash starts with prefix. Only commits
// that synced (Result Synced) count: those are known to be good. It fails with an error
// wrapping ErrUnknownCommit when no commit or more than one matches.
func ResolveCommit(entries []api.HistoryEntry, prefix string) (api.CommitInfo, error) {
	prefix = strings.ToLower(strings.TrimSpace(prefix))
	if prefix == "" {
		return api.CommitInfo{}, fmt.Errorf("resolve commit: empty prefix: %w", ErrUnknownCommit)
	}
	found := map[string]api.CommitInfo{}
	failed := false
	for _, e := range entries {
		if e.Commit.Hash == "" || !strings.HasPrefix(e.Commit.Hash, prefix) {
			continue
		}
		if e.Result != api.SyncSynced {
			failed = true
			continue
		}
		found[e.Commit.Hash] = e.Commit
	}
	switch {
	case len(found) == 1:
		for _, c := range found {
			return c, nil
		}
	case len(found) > 1:
		return api.CommitInfo{}, fmt.Errorf("resolve commit %s: %d commits of the history match: %w", prefix, len(found), ErrUnknownCommit)
	case failed:
		return api.CommitInfo{}, fmt.Errorf("resolve commit %s: it never synced: %w", prefix, ErrUnknownCommit)
	}
	return api.CommitInfo{}, fmt.Errorf("resolve commit %s: not in the history (see gitfleet history): %w", prefix, ErrUnknownCommit)
}

// Rollback pins source at the commit of its history that prefix names (see ResolveCommit) and
// asks its controller for a pass, in one write, dated now. It returns the commit and the
// ticket to Wait on: the pass that answers it is the one that applied the pin. The pin holds
// until a request removes it (gitfleet sync --resume).
func Rollback(ctx context.Context, st Store, source, prefix string, now time.Time) (api.CommitInfo, Ticket, error) {
	entries, err := st.ListHistory(ctx, source)
	if err != nil {
		return api.CommitInfo{}, Ticket{}, fmt.Errorf("rollback: %w", err)
	}
	commit, err := ResolveCommit(entries, prefix)
	if err != nil {
		return api.CommitInfo{}, Ticket{}, fmt.Errorf("rollback: %w", err)
	}
	pin := &api.Pin{Commit: commit.Hash, Time: now.UTC().Format(time.RFC3339)}
	t, err := Send(ctx, st, source, Ask{Pin: store.PinChange{Set: pin}}, now)
	if err != nil {
		return commit, Ticket{}, fmt.Errorf("rollback: %w", err)
	}
	return commit, t, nil
}
