package reconciler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api"
)

// This file is the automatic rollback's decision, pure: from the health record, the history,
// the pin and the Deployments that roll back on failure to one action. autorollback_run.go
// reads its inputs and carries it out.

// RollbackAction is what DecideRollback asks of the controller.
type RollbackAction int

const (
	// RollbackNone: nothing to do.
	RollbackNone RollbackAction = iota
	// RollbackMarkHealthy: mark the history entry that applied the commit Healthy.
	RollbackMarkHealthy
	// RollbackPin: pin the source at the note's target, as gitfleet rollback does.
	RollbackPin
	// RollbackRefuse: roll nothing back; record the note, which says why, in the status.
	RollbackRefuse
)

func (a RollbackAction) String() string {
	switch a {
	case RollbackMarkHealthy:
		return "mark-healthy"
	case RollbackPin:
		return "pin"
	case RollbackRefuse:
		return "refuse"
	}
	return "none"
}

// RollbackInput is what DecideRollback judges.
type RollbackInput struct {
	// Status is the sync status: the applied commit and the note recorded about it.
	Status api.SyncStatus
	// Health is the latest health record; only a record about the applied commit counts.
	Health api.HealthStatus
	// History is the source's history, oldest first.
	History []api.HistoryEntry
	// Pin is the source's pin; nil when it follows its branch.
	Pin *api.Pin
	// RollsBack holds the Deployments of the applied commit that roll back on failure (their
	// annotation, or the controller's --auto-rollback).
	RollsBack map[api.Key]bool
}

// RollbackDecision is DecideRollback's answer.
type RollbackDecision struct {
	Action RollbackAction
	// EntryID is the history entry to mark (RollbackMarkHealthy).
	EntryID int64
	// Note is the decision about the failed commit (RollbackPin: Target is set; RollbackRefuse:
	// Message says why not).
	Note api.RollbackNote
}

// DecideRollback decides what the health of the applied commit asks of the automatic rollback.
// Healthy: mark the entry that applied it, so that a later rollback may return to it. A
// Deployment that rolls back on failure missed its progress deadline: pin the newest earlier
// commit that became Healthy, once per failing commit. It refuses, saying why, when a pin held
// by hand applies the commit, when the commit is itself an automatic rollback's target (the
// rollback failed too: no loop), when the commit was rolled back once already, or when no
// earlier commit became Healthy. A pin not yet applied, or a decision already recorded, asks
// for nothing.
func DecideRollback(in RollbackInput) RollbackDecision {
	commit := in.Status.AppliedCommit
	if commit == "" || in.Health.AppliedCommit != commit {
		return RollbackDecision{}
	}
	applied, hasEntry := lastApplied(in.History, commit)
	if in.Health.Health == api.HealthHealthy {
		if hasEntry && !applied.Healthy {
			return RollbackDecision{Action: RollbackMarkHealthy, EntryID: applied.ID}
		}
		return RollbackDecision{}
	}
	reason := failedRollouts(in.Health, in.RollsBack)
	if reason == "" {
		return RollbackDecision{}
	}
	note := api.RollbackNote{Commit: commit, Reason: reason}
	pin := in.Pin
	switch {
	case pin.Automatic() && pin.From == commit:
		return RollbackDecision{} // decided: the pin awaits its pass
	case pin.Automatic() && pin.Commit == commit:
		note.Message = fmt.Sprintf("the automatic rollback from %s to %s failed too; staying Degraded until the next push",
			api.ShortHash(pin.From), api.ShortHash(commit))
	case pin != nil && pin.Commit == commit:
		note.Message = "no automatic rollback: pinned by hand ('gitfleet sync --resume' follows the branch again)"
	case pin != nil:
		return RollbackDecision{} // a pin its pass has not applied yet: that pass decides
	case rolledBackFrom(in.History, commit):
		note.Message = fmt.Sprintf("no automatic rollback: %s was rolled back automatically once already", api.ShortHash(commit))
	default:
		before := int64(1) << 62
		if hasEntry {
			before = applied.ID
		}
		target, ok := lastHealthy(in.History, commit, before)
		if !ok {
			note.Message = "no automatic rollback: no earlier commit of the history became Healthy"
			break
		}
		note.Target = target
		return RollbackDecision{Action: RollbackPin, Note: note}
	}
	if cur := in.Status.AutoRollback; cur != nil && *cur == note {
		return RollbackDecision{}
	}
	return RollbackDecision{Action: RollbackRefuse, Note: note}
}

// lastApplied is the newest entry of history that applied commit (Synced).
func lastApplied(history []api.HistoryEntry, commit string) (api.HistoryEntry, bool) {
	for _, e := range slices.Backward(history) {
		if e.Commit.Hash == commit && e.Result == api.SyncSynced {
			return e, true
		}
	}
	return api.HistoryEntry{}, false
}

// lastHealthy is the newest commit other than commit, applied by an entry older than before,
// that became Healthy.
func lastHealthy(history []api.HistoryEntry, commit string, before int64) (string, bool) {
	for _, e := range slices.Backward(history) {
		if e.ID < before && e.Healthy && e.Result == api.SyncSynced && e.Commit.Hash != "" && e.Commit.Hash != commit {
			return e.Commit.Hash, true
		}
	}
	return "", false
}

// rolledBackFrom reports whether an automatic rollback replaced commit before.
func rolledBackFrom(history []api.HistoryEntry, commit string) bool {
	return slices.ContainsFunc(history, func(e api.HistoryEntry) bool { return e.RollbackFrom == commit })
}

// failedRollouts says which Deployments of rollsBack missed their progress deadline, and why,
// as "web ProgressDeadlineExceeded: no progress for 8s: ..."; "" when none did.
func failedRollouts(h api.HealthStatus, rollsBack map[api.Key]bool) string {
	var out []string
	for _, o := range h.Objects {
		if r := o.Rollout; r != nil && r.State == api.RolloutDeadlineExceeded && rollsBack[o.Key] {
			out = append(out, fmt.Sprintf("%s %s: %s", deploymentName(o.Key), r.State, r.Reason))
		}
	}
	return strings.Join(out, "; ")
}

// deploymentName names a Deployment as people do: "web", or "ns/web" outside default.
func deploymentName(k api.Key) string {
	if k.Namespace == api.DefaultNamespace || k.Namespace == "" {
		return k.Name
	}
	return k.Namespace + "/" + k.Name
}

// rollingBack returns the Deployments of objects that roll back on failure, byDefault being the
// controller's --auto-rollback.
func rollingBack(objects []api.Object, byDefault bool) map[api.Key]bool {
	out := map[api.Key]bool{}
	for _, o := range objects {
		if d, ok := o.(*api.Deployment); ok && d.RollsBackOnFailure(byDefault) {
			out[api.KeyOf(d)] = true
		}
	}
	return out
}

// rollingBackNames are the keys of rollsBack as the sync status lists them: "namespace/name",
// sorted.
func rollingBackNames(rollsBack map[api.Key]bool) []string {
	var out []string
	for _, k := range slices.SortedFunc(maps.Keys(rollsBack), api.CompareKeys) {
		out = append(out, k.Namespace+"/"+k.Name)
	}
	return out
}

// rollbackNote is the note a status of applied carries: a refusal about applied while it stays
// applied (the target of an automatic rollback failing too is one), else the automatic pin's
// while it holds, else none.
func rollbackNote(prev *api.RollbackNote, pin api.Pin, applied string) *api.RollbackNote {
	if prev != nil && prev.Target == "" && prev.Commit == applied {
		return prev
	}
	if pin.Automatic() {
		return &api.RollbackNote{Commit: pin.From, Target: pin.Commit, Reason: pin.Reason}
	}
	return nil
}
