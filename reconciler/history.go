package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// This file records sync attempts and holds the client side of rollback: resolving a commit
// against the history, pinning it and waiting for the controller's answer.

// maxHistoryChanges bounds the change lines one history entry keeps.
const maxHistoryChanges = 500

// historyEntry records the attempt of a pass with status st that applied cs; drift says cs
// reverted changes made outside git. The store assigns its ID.
func (c *Controller) historyEntry(st api.SyncStatus, cs ChangeSet, drift bool) *api.HistoryEntry {
	e := &api.HistoryEntry{
		Commit: c.seen.info, Time: st.Time, Result: st.Sync, Summary: cs.Summary(),
		Changes: changeLines(cs, maxHistoryChanges), Errors: st.Errors, Message: st.Message,
		Rollback: c.pin != "",
	}
	if s := e.Summary; drift && e.Message == "" {
		e.Message = fmt.Sprintf("reverted %d desired objects changed outside git", s.Created+s.Updated+s.Deleted)
	}
	return e
}

// changeLines are the lines of cs.String(), at most limit of them (the last says how many more).
func changeLines(cs ChangeSet, limit int) []string {
	s := strings.TrimSuffix(cs.String(), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > limit {
		more := len(lines) - limit + 1
		lines = append(lines[:limit-1], fmt.Sprintf("... and %d more", more))
	}
	return lines
}

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

// RollbackStore is what Rollback and WaitRequest need of the store; *store.Store implements it.
type RollbackStore interface {
	ListHistory(ctx context.Context, source string) ([]api.HistoryEntry, error)
	PinAndRequestSync(ctx context.Context, source string, pin api.Pin, req api.SyncRequest) error
	GetSync(ctx context.Context, source string) (api.SyncStatus, error)
}

var _ RollbackStore = (*store.Store)(nil)

// Rollback pins source at the commit of its history that prefix names (see ResolveCommit) and
// asks its controller for a pass, in one transaction. It returns the commit and the request,
// whose ID the status records once the controller answered (WaitRequest) with the pass that
// applied the pin. The pin holds until it is deleted (store.DeletePin or UnpinAndRequestSync;
// gitfleet sync --resume).
func Rollback(ctx context.Context, st RollbackStore, source, prefix string, now time.Time) (api.CommitInfo, api.SyncRequest, error) {
	entries, err := st.ListHistory(ctx, source)
	if err != nil {
		return api.CommitInfo{}, api.SyncRequest{}, fmt.Errorf("rollback: %w", err)
	}
	commit, err := ResolveCommit(entries, prefix)
	if err != nil {
		return api.CommitInfo{}, api.SyncRequest{}, fmt.Errorf("rollback: %w", err)
	}
	at := now.UTC().Format(time.RFC3339)
	req := api.SyncRequest{ID: NewRequestID(), Time: at}
	if err := st.PinAndRequestSync(ctx, source, api.Pin{Commit: commit.Hash, Time: at}, req); err != nil {
		return commit, req, fmt.Errorf("rollback: %w", err)
	}
	return commit, req, nil
}

// requestPoll is how often WaitRequest reads the status.
const requestPoll = 100 * time.Millisecond

// WaitRequest waits until the sync status of source answers the request id, and returns it.
// It reads the status until ctx ends, and then fails.
func WaitRequest(ctx context.Context, st RollbackStore, source, id string) (api.SyncStatus, error) {
	tick := time.NewTicker(requestPoll)
	defer tick.Stop()
	var lastErr error
	for {
		s, err := st.GetSync(ctx, source)
		if err == nil && s.RequestID == id {
			return s, nil
		}
		if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrNotFound) {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return api.SyncStatus{}, fmt.Errorf("wait for sync request %s: %w (last read: %w)", id, context.Cause(ctx), lastErr)
			}
			return api.SyncStatus{}, fmt.Errorf("wait for sync request %s: the controller did not answer: %w", id, context.Cause(ctx))
		case <-tick.C:
		}
	}
}
