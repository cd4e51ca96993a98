package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// view is what passes read: caches of the Pods and the nodes, each listed once and then fed by
// its watch, and tracking which keys changed, so a pass updates the Cluster by those alone.
type view struct {
	pods  *store.Cache[api.Pod]
	nodes *store.NodeCache
}

// listing is what the node lifecycle reads (see Cluster.lifecycle).
type listing struct {
	pods  []store.Item[api.Pod]
	nodes []store.Item[api.Node]
}

// sync brings the Cluster up to the caches: the nodes, all again, when any changed (they change
// rarely); the Pods one changed key at a time, or all after a relist. A Pod that changed may fit
// where it did not: it is tried again.
func (s *Scheduler) sync(v view) {
	if v.nodes.Changed() {
		s.cluster.SetNodes(v.nodes.List())
	}
	names, all := v.pods.TakeChanges()
	if all {
		s.cluster.ResyncPods(v.pods.List())
		clear(s.failed) // a relist is also the periodic retry of Pods that fit nowhere
		return
	}
	for _, name := range names {
		delete(s.failed, name)
		if it, ok := v.pods.Get(name); ok {
			s.cluster.SetPod(it)
		} else {
			s.cluster.DeletePod(name)
		}
	}
}

// outcome is what happened to one Pod in a pass.
type outcome int

const (
	outcomeNone          outcome = iota // nothing to do: deleted or bound by another writer
	outcomeBound                        // bound by this pass
	outcomeUnschedulable                // fits nowhere; its status says why
)

// schedulePass schedules every Pod of the Cluster that waits for a node, in key order, each
// against the Cluster as the binds before it left it. It goes on after a Pod fails and returns
// every failure. A Pod that fit nowhere is tried again only once the cluster changed.
func (s *Scheduler) schedulePass(ctx context.Context, log *slog.Logger) error {
	start := s.opts.Now()
	var errs []error
	if err := s.evictLost(ctx, log, s.cluster.lifecycle()); err != nil {
		errs = append(errs, err)
	}
	counts := map[outcome]int{}
	for _, it := range s.cluster.Pending() {
		if gen, ok := s.failed[it.Name]; ok && gen == s.cluster.gen {
			counts[outcomeUnschedulable]++
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		out, err := s.scheduleOne(ctx, log.With("pod", it.Name), it)
		counts[out]++
		if err != nil {
			errs = append(errs, err)
		}
	}
	log.Debug("pass done", "pods", len(s.cluster.pods), "nodes", len(s.cluster.ordered), "bound", counts[outcomeBound],
		"unschedulable", counts[outcomeUnschedulable], "failed", len(errs), "took", s.opts.Now().Sub(start))
	return errors.Join(errs...)
}

// recoverPod turns a panic while scheduling one Pod into its error, so that one Pod that makes a
// plugin panic neither stops the process nor keeps the other Pods from being scheduled.
func recoverPod(name string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("schedule %s: panic: %v\n%s", name, r, debug.Stack())
	}
}

// scheduleOne places one unbound Pod: it binds it or records why it fits nowhere. When the Pod
// changed since it was read (ErrConflict) it reads it again and retries, BindRetries times at
// most; a Pod deleted or bound by another writer meanwhile needs nothing more.
func (s *Scheduler) scheduleOne(ctx context.Context, log *slog.Logger, it store.Item[api.Pod]) (out outcome, err error) {
	defer recoverPod(it.Name, &err)
	ctx, cancel := context.WithTimeout(ctx, s.opts.PodTimeout)
	defer cancel()
	pod, rev := it.Value, it.ModRevision
	for attempt := 1; ; attempt++ {
		out, err = s.place(ctx, log, pod, rev)
		if !errors.Is(err, store.ErrConflict) {
			return out, err
		}
		if attempt >= s.opts.BindRetries {
			return outcomeNone, fmt.Errorf("schedule %s: gave up after %d attempts: %w", it.Name, attempt, err)
		}
		log.Debug("pod changed since read; reading it again", "attempt", attempt)
		pod, rev, err = s.st.GetPod(ctx, pod.Metadata.Namespace, pod.Metadata.Name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return outcomeNone, nil
		case err != nil:
			return outcomeNone, fmt.Errorf("schedule %s: %w", it.Name, err)
		case pod.Spec.NodeName != "":
			log.Debug("bound by another writer", "node", pod.Spec.NodeName)
			// Until the cache shows that bind, take it as done: else the next pass, reading
			// the cache at it.ModRevision, would try to bind the Pod again.
			s.cluster.Assume(store.Item[api.Pod]{Name: it.Name, Value: pod, ModRevision: rev})
			return outcomeNone, nil
		}
	}
}

// place schedules pod, read at rev, on the Cluster and commits the decision.
func (s *Scheduler) place(ctx context.Context, log *slog.Logger, pod api.Pod, rev int64) (outcome, error) {
	name := podName(&pod)
	want := SampleSize(len(s.cluster.ordered), s.opts.SampleFloor, s.opts.SamplePercent)
	pl, fitErr := s.cluster.Place(NewPodInfo(&pod), s.opts.Profile, want)
	if fitErr != nil {
		s.failed[name] = s.cluster.gen
		return outcomeUnschedulable, s.markUnschedulable(ctx, log, pod, rev, fitErr)
	}
	if err := s.st.BindPod(ctx, pod, rev, pl.Node); err != nil {
		return outcomeNone, fmt.Errorf("bind %s to %s: %w", name, pl.Node, err)
	}
	pod.Spec.NodeName = pl.Node
	s.cluster.Assume(store.Item[api.Pod]{Name: name, Value: pod, ModRevision: rev})
	log.Info("bound", "node", pl.Node, "examined", pl.Examined, "feasible", pl.Feasible)
	return outcomeBound, nil
}

// markUnschedulable records on pod, read at rev, why it fits nowhere. It writes only when the
// status differs, so that the watch event of its own write does not cause another write.
func (s *Scheduler) markUnschedulable(ctx context.Context, log *slog.Logger, pod api.Pod, rev int64, fitErr *FitError) error {
	msg := fitErr.Error()
	st := &pod.Status
	if st.Phase == api.PodPending && st.Reason == api.ReasonUnschedulable && st.Message == msg {
		return nil
	}
	st.Phase, st.Reason, st.Message = api.PodPending, api.ReasonUnschedulable, msg
	st.ObservedAt = s.opts.Now().UTC().Format(time.RFC3339)
	if err := s.st.UpdatePod(ctx, &pod, rev); err != nil {
		return fmt.Errorf("record unschedulable %s: %w", podName(&pod), err)
	}
	log.Info("unschedulable", "message", msg)
	return nil
}
