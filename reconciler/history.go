package reconciler

import (
	"fmt"
	"strings"

	"github.com/gitfleet/gitfleet/api"
)

// This file records sync attempts in the history (the client side of rollback, resolving a
// commit against the history and pinning it, is package request's).

// maxHistoryChanges bounds the change lines one history entry keeps.
const maxHistoryChanges = 500

// historyEntry records the attempt of a pass with status st that applied cs; drift says cs
// reverted changes made outside git. The store assigns its ID.
func (c *Controller) historyEntry(st api.SyncStatus, cs ChangeSet, drift bool) *api.HistoryEntry {
	e := &api.HistoryEntry{
		Commit: c.seen.info, Time: st.Time, Result: st.Sync, Summary: cs.Summary(),
		Changes: changeLines(cs, maxHistoryChanges), Errors: st.Errors, Message: st.Message,
		Rollback: c.pin.Commit != "", RollbackFrom: c.pin.From,
	}
	switch {
	case c.pin.Automatic() && e.Message == "":
		e.Message = "automatic rollback: " + c.pin.Reason
	case c.resumed != "" && e.Message == "":
		e.Message = fmt.Sprintf("resumed the branch: the automatic rollback to %s is over", api.ShortHash(c.resumed))
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
