package nodeagent

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// statusWrite is one Pod's status to write.
type statusWrite struct {
	key api.PodKey
	rev int64
	st  api.PodStatus
}

// report writes the status of each wanted Pod when it changed since the last report.
func (a *Agent) report(ctx context.Context, log *slog.Logger, obs observation) {
	var writes []statusWrite
	seen := map[api.PodKey]bool{}
	for _, pod := range obs.wanted {
		key := api.PodKeyOf(pod)
		seen[key] = true
		st := a.statusOf(pod, obs)
		rev := obs.revs[key]
		if prev, ok := a.reported[key]; ok && prev.rev == rev && sameStatus(prev.st, st) {
			continue
		}
		st.ObservedAt = a.opts.Now().UTC().Format(time.RFC3339Nano)
		writes = append(writes, statusWrite{key, rev, st})
		a.statusChanged(key, st)
	}
	for key := range a.reported {
		if !seen[key] {
			delete(a.reported, key)
		}
	}
	a.writeStatuses(ctx, log, writes)
}

// ReasonTerminating is the status reason of a Pod whose containers are being stopped (to be
// replaced); it is not ready meanwhile, so no Service sends it new connections.
const ReasonTerminating = "Terminating"

// statusOf is the status of pod as observed, with the reason of its last failed operation or
// of its refusal while it is Pending, or Terminating while it is being stopped.
func (a *Agent) statusOf(pod *api.Pod, obs observation) api.PodStatus {
	key := api.PodKeyOf(pod)
	st := StatusOf(pod, obs.running)
	if a.workers.removing(key) {
		st.Reason, st.Ready = ReasonTerminating, false
		return st
	}
	err := obs.refused[key]
	if err == nil {
		err = a.workers.failure(key)
	}
	// an init container's exit is the failure, which its reason (Init:…) tells better
	if err != nil && st.Phase == api.PodPending && !initExited(st) {
		st.Reason, st.Message = failureReason(err)
		if st.Reason == ReasonInvalidPod {
			st.Phase = api.PodFailed
		}
	}
	return st
}

// writeStatuses writes statuses in one batch (a transaction per hundred Pods: a hundred Pods
// changing at once cost one round trip to etcd), and records those written.
func (a *Agent) writeStatuses(ctx context.Context, log *slog.Logger, writes []statusWrite) {
	if len(writes) == 0 {
		return
	}
	puts := make([]store.PodStatusPut, len(writes))
	for i, w := range writes {
		puts[i] = store.PodStatusPut{Namespace: w.key.Namespace, Name: w.key.Name, CreateRev: w.rev, Status: w.st}
	}
	for i, err := range a.st.PutPodStatuses(ctx, a.opts.Node.Name, puts) {
		w := writes[i]
		if err != nil {
			a.statusFailed(ctx, log, w.key, err)
			continue
		}
		a.reported[w.key] = report{rev: w.rev, st: w.st}
	}
}

// statusFailed logs a status write that failed. A Pod deleted or replaced since this pass read
// it has no status to write: that is the normal end of a Pod, not a warning, and what was
// reported for it is forgotten. Nor is a write the agent's stop cut short (ctx ended): the next
// agent writes it. Other failures are retried by the next pass.
func (a *Agent) statusFailed(ctx context.Context, log *slog.Logger, key api.PodKey, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		log.Debug("pod gone before its status was written", "pod", key.String(), "err", err)
		delete(a.reported, key)
	case ctx.Err() != nil:
		log.Debug("pod status not written: the agent is stopping", "pod", key.String(), "err", err)
	default:
		log.Warn("write pod status failed", "pod", key.String(), "err", err)
	}
}

// failureReason is the status reason and message of a Pod whose steps failed with err: a
// missing ConfigMap is CreateContainerConfigError, as in Kubernetes, and says only that; a
// refused Pod says why it was refused.
func failureReason(err error) (reason, message string) {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return "CreateContainerConfigError", ce.Message
	}
	var re *RefusedError
	if errors.As(err, &re) {
		return re.Reason, re.Message
	}
	return "RuntimeError", err.Error()
}

// report is a status written for the Pod created at rev.
type report struct {
	rev int64
	st  api.PodStatus
}

// sameStatus compares statuses without their observation time.
func sameStatus(a, b api.PodStatus) bool {
	a.ObservedAt, b.ObservedAt = "", ""
	return reflect.DeepEqual(a, b)
}
