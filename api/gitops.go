package api

// CommitInfo describes one git commit, as status and history show it.
type CommitInfo struct {
	Hash    string `json:"hash"`
	Author  string `json:"author,omitempty"`
	Message string `json:"message,omitempty"` // the first line of the commit message
	// Time is the RFC 3339 commit time.
	Time string `json:"time,omitempty"`
}

// Health of an object, as Argo CD reports it.
const (
	HealthHealthy     = "Healthy"
	HealthProgressing = "Progressing"
	HealthDegraded    = "Degraded"
	HealthMissing     = "Missing"
)

// ObjectStatus is the sync state and health of one desired object.
type ObjectStatus struct {
	Key    Key    `json:"key"`
	Sync   string `json:"sync"`   // Synced or OutOfSync
	Health string `json:"health"` // Healthy, Progressing, Degraded or Missing
	// Message says why an object is not Healthy (for example "1/3 replicas unschedulable: ...").
	Message string `json:"message,omitempty"`
	// Ready and Want count the object's Pods that run ready and that it wants; 0 for kinds
	// that make no Pods.
	Ready int `json:"ready,omitempty"`
	Want  int `json:"want,omitempty"`
	// Since is the RFC 3339 time the object's health last changed, as its controller saw it.
	Since string `json:"since,omitempty"`
	// Rollout is a Deployment's rollout of its current template; nil for other kinds.
	Rollout *RolloutStatus `json:"rollout,omitempty"`
}

// Rollout states (RolloutStatus.State).
const (
	// RolloutProgressing: the current template's Pods are being made or becoming available.
	RolloutProgressing = "Progressing"
	// RolloutComplete: every wanted Pod is of the current template and available, and no old
	// Pod is left. It stays so until the template or the replicas change.
	RolloutComplete = "Complete"
	// RolloutPaused: spec.paused holds the rollout; scaling still applies.
	RolloutPaused = "Paused"
	// RolloutDeadlineExceeded: no progress for progressDeadlineSeconds; the rollout stops
	// where it is (old Pods keep serving) until the template or the replicas change.
	RolloutDeadlineExceeded = "ProgressDeadlineExceeded"
)

// RolloutStatus is what a progress line needs of a Deployment's rollout, recorded by the
// workload controller in the health record; the JSON names are stable. Counts are of the Pods
// etcd holds (a Pod being stopped is no longer one).
type RolloutStatus struct {
	// Revision and TemplateHash name the current template's record (api.ReplicaSet).
	Revision     int64  `json:"revision"`
	TemplateHash string `json:"templateHash"`
	// State is RolloutProgressing, RolloutComplete, RolloutPaused or RolloutDeadlineExceeded.
	State string `json:"state"`
	// Reason says why, for RolloutDeadlineExceeded: how long without progress, and which Pods
	// fail and why (ErrImagePull, CrashLoopBackOff, a readiness probe, Unschedulable).
	Reason string `json:"reason,omitempty"`
	// Want is the replicas; Replicas counts every Pod, Updated those of the current template,
	// Ready those ready, Available those ready for minReadySeconds (of any template).
	Want      int `json:"want"`
	Replicas  int `json:"replicas"`
	Updated   int `json:"updated"`
	Ready     int `json:"ready"`
	Available int `json:"available"`
	// UpdatedAvailable counts the available Pods of the current template.
	UpdatedAvailable int `json:"updatedAvailable"`
	// Failing are up to five Pods of the current template that are not available, and why.
	Failing []FailingPod `json:"failing,omitempty"`
	// LastProgress is the RFC 3339 time the rollout last moved (a Pod made or available, an old
	// one gone), from which the progress deadline counts.
	LastProgress string `json:"lastProgress,omitempty"`
	// DeadlineSeconds is the progress deadline in force (progressDeadlineSeconds, else the
	// controller's --progress-deadline): how long a waiter may see no progress.
	DeadlineSeconds int `json:"progressDeadlineSeconds,omitempty"`
}

// FailingPod is a Pod of a rollout that is not available, and why: Reason is its status
// reason (ErrImagePull, Unschedulable), a container's (CrashLoopBackOff), or NotReady.
type FailingPod struct {
	Pod     string `json:"pod"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// HealthStatus is the workload controller's record of the health of every desired object;
// status, get, sync --wait and the push hook read it and judge nothing themselves.
type HealthStatus struct {
	Source string `json:"source"`
	// AppliedCommit is the commit the sync status named when the desired objects were read: a
	// waiter for a sync of commit C reads health once AppliedCommit is C.
	AppliedCommit string `json:"appliedCommit"`
	// Health is the worst health of Objects; Healthy when there are none.
	Health  string         `json:"health"`
	Objects []ObjectStatus `json:"objects"`
	// Ready and Want count the Pods of desired objects that run ready and that they want.
	Ready int       `json:"ready"`
	Want  int       `json:"want"`
	Pods  PodCounts `json:"pods"`
	// Time is the RFC 3339 time of the assessment.
	Time string `json:"time,omitempty"`
}

// PodCounts counts every Pod by phase, as status shows them.
type PodCounts struct {
	Total   int `json:"total"`
	Running int `json:"running"`
	Ready   int `json:"ready"`
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}

// CountPods counts pods, whose status is merged in, by phase.
func CountPods(pods []Pod) PodCounts {
	var c PodCounts
	for _, p := range pods {
		c.Total++
		switch p.Status.Phase {
		case PodRunning:
			c.Running++
		case PodFailed:
			c.Failed++
		case PodPending:
			c.Pending++
		}
		if p.Status.Ready {
			c.Ready++
		}
	}
	return c
}

// HistoryEntry records one sync attempt: what was tried and how it ended.
type HistoryEntry struct {
	// ID orders entries; it increases with every attempt of a source.
	ID     int64      `json:"id"`
	Source string     `json:"source"`
	Commit CommitInfo `json:"commit"`
	// Time is the RFC 3339 time of the attempt.
	Time    string        `json:"time"`
	Result  string        `json:"result"` // Synced or Failed
	Summary ChangeSummary `json:"summary"`
	// Changes are the rendered actions, for example "+ Deployment/default/web".
	Changes []string     `json:"changes,omitempty"`
	Errors  []FieldError `json:"errors,omitempty"`
	Message string       `json:"message,omitempty"`
	// Rollback is set when the attempt applied a pinned commit (gitfleet rollback).
	Rollback bool `json:"rollback,omitempty"`
	// RollbackFrom is set when an automatic rollback pinned the commit: the commit whose rollout
	// missed its deadline (Message says why).
	RollbackFrom string `json:"rollbackFrom,omitempty"`
	// Healthy is set once the health of the commit this attempt applied became Healthy: the
	// commits an automatic rollback may return to.
	Healthy bool `json:"healthy,omitempty"`
}

// SyncRequest asks the controller of a source to sync now (a push hook, a webhook, `gitfleet
// sync`); the controller acts on the latest request and records its ID in the sync status.
type SyncRequest struct {
	ID string `json:"id"`
	// Commit, when set, is the commit the requester expects at the branch head.
	Commit string `json:"commit,omitempty"`
	// AllowMassPrune lets this one sync delete more than the prune limit.
	AllowMassPrune bool `json:"allowMassPrune,omitempty"`
	// Time is the RFC 3339 time of the request.
	Time string `json:"time,omitempty"`
	// Revision is the store revision the request was written at; the store sets it on read.
	Revision int64 `json:"-"`
}

// Pin holds a source at one commit until it is removed (gitfleet rollback, sync --resume).
type Pin struct {
	Commit string `json:"commit"`
	// Time is the RFC 3339 time the pin was set.
	Time string `json:"time,omitempty"`
	// From is set by an automatic rollback: the commit whose rollout missed its deadline. The
	// first pass to see the branch at another commit removes such a pin (a manual one stays
	// until gitfleet sync --resume).
	From string `json:"from,omitempty"`
	// Reason says why an automatic rollback pinned the source.
	Reason string `json:"reason,omitempty"`
	// Revision is the store revision the pin was written at; the store sets it on read.
	Revision int64 `json:"-"`
}

// ShortHash abbreviates a commit hash to 12 characters, as logs and messages show it.
func ShortHash(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// NodesStatus is the scheduler's record of the nodes: how many are Ready, which are not, and
// why evictions are paused, if they are.
type NodesStatus struct {
	Total    int      `json:"total"`
	Ready    int      `json:"ready"`
	NotReady []string `json:"notReady,omitempty"`
	// EvictionsPaused says why the Pods of NotReady nodes are not replaced; "" when they are.
	EvictionsPaused string `json:"evictionsPaused,omitempty"`
	// Time is the RFC 3339 time of the record.
	Time string `json:"time,omitempty"`
}
