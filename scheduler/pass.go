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
// its watch.
type view struct {
	pods  *store.Cache[api.Pod]
	nodes *store.NodeCache
}

// listing is what one pass reads: every Pod and Node, in key order.
type listing struct {
	pods  []store.Item[api.Pod]
	nodes []store.Item[api.Node]
}

// assumedBind is a bind of this scheduler: of the Pod read at rev, to node.
type assumedBind struct {
	node string
	rev  int64
}

// list reads the caches of v. A Pod this scheduler bound (or found bound by another writer)
// but the cache still has unbound at the revision it was read at is taken as bound: else the next pass would count its node without
// it and might overcommit the node (its own bind would only lose the compare-and-swap). The
// assumption ends when the cache has a newer revision of the Pod, or none.
func (s *Scheduler) list(v view) listing {
	l := listing{pods: v.pods.List(), nodes: v.nodes.List()}
	seen := make(map[string]bool, len(s.assumed))
	for i := range l.pods {
		it := &l.pods[i]
		a, ok := s.assumed[it.Name]
		if !ok {
			continue
		}
		if it.ModRevision > a.rev {
			delete(s.assumed, it.Name)
			continue
		}
		seen[it.Name] = true
		it.Value.Spec.NodeName = a.node // it.Value is a copy; NodeName is not shared with the cache
	}
	for name := range s.assumed {
		if !seen[name] {
			delete(s.assumed, name)
		}
	}
	return l
}

// outcome is what happened to one Pod in a pass.
type outcome int

const (
	outcomeNone          outcome = iota // nothing to do: deleted or bound by another writer
	outcomeBound                        // bound by this pass
	outcomeUnschedulable                // fits nowhere; its status says why
)

// schedulePass schedules every unbound Pod of l in key order, against one snapshot that takes in
// each bind of the pass. It goes on after a Pod fails and returns every failure.
func (s *Scheduler) schedulePass(ctx context.Context, log *slog.Logger, l listing) error {
	start := s.opts.Now()
	var errs []error
	if err := s.evictLost(ctx, log, l); err != nil {
		errs = append(errs, err)
	}
	snap := newSnapshot(l)
	counts := map[outcome]int{}
	for _, it := range l.pods {
		if it.Value.Spec.NodeName != "" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		out, err := s.scheduleOne(ctx, log.With("pod", it.Name), it, snap)
		counts[out]++
		if err != nil {
			errs = append(errs, err)
		}
	}
	log.Debug("pass done", "pods", len(l.pods), "nodes", len(l.nodes), "bound", counts[outcomeBound],
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
func (s *Scheduler) scheduleOne(ctx context.Context, log *slog.Logger, it store.Item[api.Pod], snap *snapshot) (out outcome, err error) {
	defer recoverPod(it.Name, &err)
	ctx, cancel := context.WithTimeout(ctx, s.opts.PodTimeout)
	defer cancel()
	pod, rev := it.Value, it.ModRevision
	for attempt := 1; ; attempt++ {
		out, err = s.place(ctx, log, pod, rev, snap)
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
			s.assumed[it.Name] = assumedBind{node: pod.Spec.NodeName, rev: it.ModRevision}
			snap.add(pod)
			return outcomeNone, nil
		}
	}
}

// place schedules pod, read at rev, against snap and commits the decision.
func (s *Scheduler) place(ctx context.Context, log *slog.Logger, pod api.Pod, rev int64, snap *snapshot) (outcome, error) {
	node, fitErr := Schedule(&pod, snap.nodes, s.opts.Profile)
	if fitErr != nil {
		return outcomeUnschedulable, s.markUnschedulable(ctx, log, pod, rev, fitErr)
	}
	if err := s.st.BindPod(ctx, pod, rev, node); err != nil {
		return outcomeNone, fmt.Errorf("bind %s to %s: %w", podName(&pod), node, err)
	}
	s.assumed[podName(&pod)] = assumedBind{node: node, rev: rev}
	pod.Spec.NodeName = node
	snap.add(pod)
	log.Info("bound", "node", node)
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

// snapshot is the NodeInfo of every listed node, with the Pods bound to it.
type snapshot struct {
	nodes  []*NodeInfo
	byName map[string]*NodeInfo
}

// newSnapshot builds the NodeInfos of l. Pods bound to a node that is not listed count nowhere.
func newSnapshot(l listing) *snapshot {
	s := &snapshot{byName: make(map[string]*NodeInfo, len(l.nodes))}
	for i := range l.nodes {
		n := NewNodeInfo(&l.nodes[i].Value)
		s.nodes = append(s.nodes, n)
		s.byName[n.Name()] = n
	}
	for i := range l.pods {
		if p := &l.pods[i].Value; p.Spec.NodeName != "" {
			s.add(*p)
		}
	}
	return s
}

// add accounts for pod on the node it is bound to.
func (s *snapshot) add(pod api.Pod) {
	if n := s.byName[pod.Spec.NodeName]; n != nil {
		n.AddPod(&pod)
	}
}
