package reconciler

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// This file decides what one pass writes: which commit it applies, whether a new commit may
// delete what it deletes (the prune limit), and whether drift is reverted or only reported
// (self-heal).

// AnnotationAllowMassPrune set to "true" on any object of a commit lets the sync of that commit
// delete more than the prune limit.
const AnnotationAllowMassPrune = "gitfleet.io/allow-mass-prune"

// defaultPruneLimit is the share of the live objects a sync may delete without an allowance.
const defaultPruneLimit = 0.5

// decision is what one pass writes: the commit it applies (empty when there is none to apply),
// the change set, the status and the history entry of the attempt (nil when the pass attempted
// nothing new).
type decision struct {
	target loaded
	cs     ChangeSet
	st     api.SyncStatus
	entry  *api.HistoryEntry
}

// decide decides the pass against the live desired objects. It applies c.seen when it is good and
// either already accepted or within the prune limit; otherwise it keeps c.want (reverting drift
// to it) and says why in the status. Without self-heal, drift at the applied commit is reported
// instead of reverted, unless a new sync request asks for the pass.
func (c *Controller) decide(log *slog.Logger, prev api.SyncStatus, live map[api.Key]store.DesiredObject, req *api.SyncRequest) decision {
	fresh := req != nil && req.ID != prev.RequestID
	p := decision{target: c.want, st: c.status(prev, req)}
	switch {
	case len(c.seen.errs) > 0:
		p.st.Sync, p.st.Errors = api.SyncFailed, c.seen.errs
		p.st.Message = fmt.Sprintf("commit %s has %d errors; nothing from it was applied", api.ShortHash(c.seen.commit), len(c.seen.errs))
	case c.seen.commit == c.want.commit || c.seen.commit == prev.AppliedCommit:
		p.target = c.seen
	default:
		opts := c.pruneOptions(req, fresh)
		if err := checkPrune(c.diff(c.seen, live), len(live), opts); err != nil {
			log.Warn("commit refused", "commit", api.ShortHash(c.seen.commit), "err", err)
			p.st.Sync, p.st.Message = api.SyncFailed, err.Error()
			break
		}
		if opts.allowedBy != "" {
			log.Info("prune limit lifted", "commit", api.ShortHash(c.seen.commit), "by", opts.allowedBy)
		}
		p.target = c.seen
	}
	if p.target.commit != "" {
		p.cs = c.diff(p.target, live)
		p.st.AppliedCommit, p.st.Commit = p.target.commit, p.target.info
		p.st.RollbackOnFailure = rollingBackNames(rollingBack(p.target.objects, c.opts.AutoRollback))
	}
	p.st.AutoRollback = rollbackNote(prev.AutoRollback, c.pin, p.st.AppliedCommit)
	drift := p.target.commit == prev.AppliedCommit && !p.cs.Empty()
	if drift && c.opts.DisableSelfHeal && !fresh {
		c.reportDrift(&p)
		return p
	}
	p.st.Changes = p.cs.Summary()
	if !p.cs.Empty() || !sameOutcome(prev, p.st) {
		p.entry = c.historyEntry(p.st, p.cs, drift)
	}
	return p
}

// reportDrift turns p into a pass that writes no object and says which keys drifted.
func (c *Controller) reportDrift(p *decision) {
	msg := driftMessage(p.cs)
	p.cs = ChangeSet{}
	if p.st.Sync == api.SyncFailed {
		p.st.Message += "; " + msg
		return
	}
	p.st.Sync, p.st.Message = api.SyncOutOfSync, msg
}

// maxDriftNames bounds the keys a drift message names.
const maxDriftNames = 5

// driftMessage names the keys cs would revert.
func driftMessage(cs ChangeSet) string {
	var names []string
	for _, ch := range cs.Changes {
		if ch.Action != Unchanged {
			names = append(names, ch.Key.String())
		}
	}
	list := strings.Join(names[:min(len(names), maxDriftNames)], ", ")
	if len(names) > maxDriftNames {
		list += fmt.Sprintf(" and %d more", len(names)-maxDriftNames)
	}
	return fmt.Sprintf("%d desired objects changed outside git (%s); self-heal is off: push a commit or run gitfleet sync to revert them",
		len(names), list)
}

// pruneOptions say how much one sync may delete.
type pruneOptions struct {
	// limit is the share of the live objects a sync may delete; strictly more is refused.
	limit float64
	// allowedBy names what lifts the limit ("" when nothing does).
	allowedBy string
}

// pruneOptions returns the limit of the sync of c.seen: lifted by the controller's flag, by a
// sync request that allows it for this commit (or, naming no commit, has not been answered
// yet), or by the annotation on any object of the commit.
func (c *Controller) pruneOptions(req *api.SyncRequest, fresh bool) pruneOptions {
	o := pruneOptions{limit: c.opts.PruneLimit}
	switch {
	case c.opts.AllowMassPrune:
		o.allowedBy = "the controller's --allow-mass-prune"
	case req != nil && req.AllowMassPrune && requestNames(req, c.seen.commit, fresh):
		o.allowedBy = "sync request " + req.ID
	case allowsMassPrune(c.seen.objects):
		o.allowedBy = "annotation " + AnnotationAllowMassPrune
	}
	return o
}

// requestNames reports whether req is about commit: it names it, or it names none and fresh
// says it has not been answered yet.
func requestNames(req *api.SyncRequest, commit string, fresh bool) bool {
	if req.Commit != "" {
		return strings.HasPrefix(commit, req.Commit)
	}
	return fresh
}

// allowsMassPrune reports whether any object carries AnnotationAllowMassPrune: "true".
func allowsMassPrune(objects []api.Object) bool {
	for _, o := range objects {
		if o.GetMeta().Annotations[AnnotationAllowMassPrune] == "true" {
			return true
		}
	}
	return false
}

// pruneError is a refused sync: it would delete deleted of live objects, leaving left.
type pruneError struct {
	deleted, live, left int
	limit               float64
}

func (e *pruneError) Error() string {
	what := fmt.Sprintf("%d of %d objects (more than %g%%)", e.deleted, e.live, e.limit*100)
	if e.deleted >= e.live {
		what = fmt.Sprintf("all %d objects", e.live)
	}
	how := "run gitfleet sync --allow-mass-prune"
	if e.left > 0 {
		how = fmt.Sprintf("push the deletion again with %s: \"true\" annotation on any remaining object, or %s",
			AnnotationAllowMassPrune, how)
	}
	return "refusing to delete " + what + "; " + how
}

// checkPrune refuses a change set that deletes strictly more than opts.limit of the live
// objects, or all of them when there was at least one, unless opts.allowedBy lifts the limit.
// It is pure; the error is a *pruneError.
func checkPrune(cs ChangeSet, live int, opts pruneOptions) error {
	s := cs.Summary()
	if opts.allowedBy != "" || s.Deleted == 0 || live == 0 {
		return nil
	}
	if s.Deleted < live && float64(s.Deleted) <= opts.limit*float64(live) {
		return nil
	}
	return &pruneError{deleted: s.Deleted, live: live, left: s.Created + s.Updated + s.Unchanged, limit: opts.limit}
}
