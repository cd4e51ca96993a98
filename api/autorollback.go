package api

// AnnotationRollbackOnFailure on a Deployment, "true" or "false", says whether the controller
// rolls the source back when the Deployment's rollout misses its progress deadline; it
// overrides the controller's --auto-rollback either way.
const AnnotationRollbackOnFailure = "gitfleet.io/rollback-on-failure"

// RollsBackOnFailure reports whether a missed deadline of d's rollout rolls back: its
// annotation says so, or byDefault (the controller's --auto-rollback) does and it does not
// say otherwise.
func (d *Deployment) RollsBackOnFailure(byDefault bool) bool {
	switch d.Metadata.Annotations[AnnotationRollbackOnFailure] {
	case "true":
		return true
	case "false":
		return false
	}
	return byDefault
}

// RollbackNote is the automatic rollback's decision about a commit whose rollout missed its
// progress deadline, as the sync status records it; the JSON names are stable.
type RollbackNote struct {
	// Commit is the commit whose rollout failed.
	Commit string `json:"commit"`
	// Target is the commit pinned in its place; "" when there was no rollback.
	Target string `json:"target,omitempty"`
	// Reason is the failure, as "web ProgressDeadlineExceeded: no progress for 8s: ...".
	Reason string `json:"reason"`
	// Message says why there was no rollback, when Target is "".
	Message string `json:"message,omitempty"`
}

// Automatic reports whether p was set by an automatic rollback rather than by hand.
func (p *Pin) Automatic() bool { return p != nil && p.From != "" }
