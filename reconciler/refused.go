package reconciler

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// refused records that etcd refused the writes of p for their size (its --max-txn-ops or
// --max-request-bytes): the sync is Failed with the refusal as its one error, the commit seen
// and nothing of it applied. Retrying fails the same way until the operator raises the limit the
// error names, so the pass reports it as an outcome, not as an error to back off from; each pass
// tries again, and the first after the limit is raised applies the commit.
func (c *Controller) refused(ctx context.Context, log *slog.Logger, prev api.SyncStatus, p decision,
	limit *store.LimitError) (api.SyncStatus, error) {
	log.Warn("etcd refused the commit", "commit", api.ShortHash(p.target.commit), "err", limit)
	st := p.st
	st.AppliedCommit, st.Commit, st.Changes = prev.AppliedCommit, prev.Commit, prev.Changes
	st.Sync, st.Message = api.SyncFailed, limit.Error()
	// The refusal is of the whole commit, not of one file: it sits on the followed directory.
	st.Errors = []api.FieldError{{File: cmp.Or(c.repo.Config().Path, "."), Message: limit.Error()}}
	if sameStatus(prev, st) {
		return prev, nil
	}
	rec := store.SyncRecord{Status: st, HistoryLimit: c.opts.HistoryLimit}
	if !sameOutcome(prev, st) {
		rec.History = c.historyEntry(st, ChangeSet{}, false)
		rec.History.Commit = p.target.info
	}
	if _, err := c.st.CommitSync(ctx, rec); err != nil {
		return prev, fmt.Errorf("sync %s: record refused commit %s: %w", c.opts.Name, api.ShortHash(p.target.commit), err)
	}
	return st, nil
}
