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
	outcomeQueued                       // placed, its bind waiting in the pass's batch
)

// tally counts the outcomes of a pass and keeps its errors.
type tally struct {
	counts map[outcome]int
	errs   []error
}

func (t *tally) add(out outcome, err error) {
	t.counts[out]++
	if err != nil {
		t.errs = append(t.errs, err)
	}
}

// schedulePass schedules every Pod of the Cluster that waits for a node, in key order, each
// against the Cluster as the placements before it left it; their binds are committed BindBatch
// at a time (see batch). It goes on after a Pod fails and returns every failure. A Pod that fit
// nowhere is tried again only once the cluster changed.
func (s *Scheduler) schedulePass(ctx context.Context, log *slog.Logger) error {
	start := s.opts.Now()
	t := &tally{counts: map[outcome]int{}}
	if err := s.evictLost(ctx, log, s.cluster.lifecycle()); err != nil {
		t.errs = append(t.errs, err)
	}
	var b batch
	skipped := 0
	for _, it := range s.cluster.Pending() {
		if gen, ok := s.failed[it.Name]; ok && gen == s.cluster.gen {
			t.add(outcomeUnschedulable, nil)
			skipped++
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t.add(s.decide(ctx, log.With("pod", it.Name), it, &b))
		if len(b.items) >= s.opts.BindBatch {
			s.flush(ctx, log, &b, t)
		}
	}
	s.flush(ctx, log, &b, t)
	s.observePass(t, skipped, start)
	log.Debug("pass done", "pods", len(s.cluster.pods), "nodes", len(s.cluster.ordered), "bound", t.counts[outcomeBound],
		"unschedulable", t.counts[outcomeUnschedulable], "failed", len(t.errs), "took", s.opts.Now().Sub(start))
	return errors.Join(t.errs...)
}

// recoverPod turns a panic while scheduling one Pod into its error, so that one Pod that makes a
// plugin panic neither stops the process nor keeps the other Pods from being scheduled.
func recoverPod(name string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("schedule %s: panic: %v\n%s", name, r, debug.Stack())
	}
}

// decide places the unbound Pod it on the Cluster and queues its bind in b, or records why it
// fits nowhere.
func (s *Scheduler) decide(ctx context.Context, log *slog.Logger, it store.Item[api.Pod], b *batch) (out outcome, err error) {
	defer recoverPod(it.Name, &err)
	pl, fits, err := s.fit(ctx, log, it.Value, it.ModRevision)
	switch {
	case errors.Is(err, store.ErrConflict):
		return s.retry(ctx, log, it, 1, err)
	case !fits:
		return outcomeUnschedulable, err
	}
	b.add(it, pl)
	s.assume(it, pl.Node)
	return outcomeQueued, nil
}

// scheduleOne places one unbound Pod and binds it alone, or records why it fits nowhere; when
// it changed since it was read it is read again (see retry).
func (s *Scheduler) scheduleOne(ctx context.Context, log *slog.Logger, it store.Item[api.Pod]) (out outcome, err error) {
	defer recoverPod(it.Name, &err)
	out, err = s.place(ctx, log, it.Value, it.ModRevision)
	if errors.Is(err, store.ErrConflict) {
		return s.retry(ctx, log, it, 1, err)
	}
	return out, err
}

// retry schedules again, alone, a Pod whose write lost a compare-and-swap (lastErr) after
// attempts tries: it reads the Pod again and places it, BindRetries tries in all. A Pod deleted
// or bound by another writer meanwhile needs nothing more.
func (s *Scheduler) retry(ctx context.Context, log *slog.Logger, it store.Item[api.Pod], attempts int, lastErr error) (outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.PodTimeout)
	defer cancel()
	for ; attempts < s.opts.BindRetries; attempts++ {
		log.Debug("pod changed since read; reading it again", "attempt", attempts)
		pod, rev, err := s.st.GetPod(ctx, it.Value.Metadata.Namespace, it.Value.Metadata.Name)
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
		var out outcome
		if out, lastErr = s.place(ctx, log, pod, rev); !errors.Is(lastErr, store.ErrConflict) {
			return out, lastErr
		}
	}
	return outcomeNone, fmt.Errorf("schedule %s: gave up after %d attempts: %w", it.Name, attempts, lastErr)
}

// place schedules pod, read at rev, on the Cluster and binds it alone.
func (s *Scheduler) place(ctx context.Context, log *slog.Logger, pod api.Pod, rev int64) (outcome, error) {
	pl, fits, err := s.fit(ctx, log, pod, rev)
	if !fits {
		return outcomeUnschedulable, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.PodTimeout)
	defer cancel()
	name := podName(&pod)
	if err := s.st.BindPod(ctx, pod, rev, pl.Node); err != nil {
		return outcomeNone, fmt.Errorf("bind %s to %s: %w", name, pl.Node, err)
	}
	s.assume(store.Item[api.Pod]{Name: name, Value: pod, ModRevision: rev}, pl.Node)
	log.Info("bound", "node", pl.Node, "examined", pl.Examined, "feasible", pl.Feasible)
	s.bound(name, pl.Node)
	return outcomeBound, nil
}

// fit places pod, read at rev, on the Cluster; when it fits nowhere it records why on the Pod
// and returns false, with the error of that write.
func (s *Scheduler) fit(ctx context.Context, log *slog.Logger, pod api.Pod, rev int64) (Placement, bool, error) {
	name := podName(&pod)
	want := SampleSize(len(s.cluster.ordered), s.opts.SampleFloor, s.opts.SamplePercent)
	pl, fitErr := s.cluster.Place(NewPodInfo(&pod), s.opts.Profile, want)
	if fitErr == nil {
		return pl, true, nil
	}
	s.failed[name] = s.cluster.gen
	ctx, cancel := context.WithTimeout(ctx, s.opts.PodTimeout)
	defer cancel()
	return pl, false, s.markUnschedulable(ctx, log, pod, rev, fitErr)
}

// assume records it, read unbound, as bound to node on the Cluster until its watch says so.
func (s *Scheduler) assume(it store.Item[api.Pod], node string) {
	it.Value.Spec.NodeName = node
	s.cluster.Assume(it)
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
	s.event(podRef(podName(&pod)), api.EventWarning, api.ReasonFailedScheduling, msg)
	return nil
}
