package reconciler

import (
	"fmt"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// EventRecorder records events about objects; *events.Recorder is one.
type EventRecorder interface {
	Event(obj api.Key, typ, reason, message string)
}

// Metrics counts the controller's work; *metrics.Metrics is one.
type Metrics interface {
	// SyncDone counts a sync attempt recorded in the history, of result (api.SyncSynced,
	// api.SyncFailed), that took d.
	SyncDone(result string, d time.Duration)
	// ReconcileError counts a failed pass of controller ("sync").
	ReconcileError(controller string)
}

// SourceKind is the kind of the involved object of the events about a sync source (a commit
// applied, a sync failed); the source is cluster-scoped, named as in Options.Name.
const SourceKind = "Source"

// recorded tells the metrics and the events of a sync record committed by the pass begun at
// passStart; cs is what it applied (empty for a failure).
func (c *Controller) recorded(rec store.SyncRecord, cs ChangeSet) {
	h := rec.History
	if h == nil && cs.Empty() {
		return
	}
	if h != nil && c.opts.Metrics != nil {
		c.opts.Metrics.SyncDone(h.Result, c.opts.Now().Sub(c.passStart))
	}
	if c.opts.Events == nil {
		return
	}
	src := api.Key{Kind: SourceKind, Name: c.opts.Name}
	switch {
	case h != nil && h.Result == api.SyncFailed:
		msg := h.Message
		if len(h.Errors) > 0 {
			msg = fmt.Sprintf("commit %s: %s (%d errors)", api.ShortHash(h.Commit.Hash), h.Errors[0].Error(), len(h.Errors))
		}
		c.opts.Events.Event(src, api.EventWarning, api.ReasonSyncFailed, msg)
	case h != nil && rec.Status.AppliedCommit != "":
		s := h.Summary
		c.opts.Events.Event(src, api.EventNormal, api.ReasonCommitApplied, fmt.Sprintf("commit %s %q: %d created, %d updated, %d pruned",
			api.ShortHash(rec.Status.AppliedCommit), h.Commit.Message, s.Created, s.Updated, s.Deleted))
	}
	for _, ch := range cs.Changes {
		switch ch.Action {
		case Create:
			c.opts.Events.Event(ch.Key, api.EventNormal, api.ReasonCreated, "created from commit "+api.ShortHash(rec.Status.AppliedCommit))
		case Delete:
			c.opts.Events.Event(ch.Key, api.EventNormal, api.ReasonPruned, "pruned: not in commit "+api.ShortHash(rec.Status.AppliedCommit))
		}
	}
}

// passFailed counts a pass that failed.
func (c *Controller) passFailed() {
	if c.opts.Metrics != nil {
		c.opts.Metrics.ReconcileError("sync")
	}
}
