package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/store"
)

// evictLost deletes the Pods bound to nodes whose key has been missing for NodeLostGrace: the
// node's agent stopped renewing its lease, so nothing runs them or reports on them. Their owners
// create them again, and the scheduler binds those to a live node. A node that comes back before
// the grace passes keeps its Pods. Each delete compares the revision the Pod was listed at.
func (s *Scheduler) evictLost(ctx context.Context, log *slog.Logger, l listing) error {
	now := s.opts.Now()
	missing := lostNodes(l, s.lost, now)
	s.lost = missing
	var errs []error
	for _, it := range l.pods {
		node := it.Value.Spec.NodeName
		since, ok := missing[node]
		if !ok || now.Sub(since) < s.opts.NodeLostGrace {
			continue
		}
		ns, name, _ := strings.Cut(it.Name, "/")
		err := s.st.DeletePod(ctx, ns, name, it.ModRevision)
		switch {
		case errors.Is(err, store.ErrConflict):
			// changed since the list; the next pass looks again
		case err != nil:
			errs = append(errs, fmt.Errorf("evict %s from lost node %s: %w", it.Name, node, err))
		default:
			log.Warn("evicted pod of lost node", "pod", it.Name, "node", node, "missing_for", now.Sub(since).Round(time.Second))
		}
	}
	return errors.Join(errs...)
}

// lostNodes returns, for every node that Pods are bound to but that is not registered, when it
// was first seen missing (kept from before, else now). Nodes that are back are forgotten.
func lostNodes(l listing, before map[string]time.Time, now time.Time) map[string]time.Time {
	live := map[string]bool{}
	for _, n := range l.nodes {
		live[n.Value.Metadata.Name] = true
	}
	out := map[string]time.Time{}
	for _, it := range l.pods {
		node := it.Value.Spec.NodeName
		if node == "" || live[node] {
			continue
		}
		if _, ok := out[node]; ok {
			continue
		}
		since, ok := before[node]
		if !ok {
			since = now
		}
		out[node] = since
	}
	return out
}
