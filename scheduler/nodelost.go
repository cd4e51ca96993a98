package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// This file is the node lifecycle: a node is lost when it is registered but not Ready (its
// agent stopped heartbeating for the node's grace, or reported the node not ready), or when
// Pods are bound to a name no node has. The Pods of a node lost for NodeLostGrace are evicted
// (deleted), so their owners make them again for a live node: at most EvictionRate a second
// (EvictionBurst at once), and none while more than half of the nodes are lost, which points at
// the control plane or the network rather than the nodes.

// lostNodes returns, for every lost node, when it was first seen lost (kept from before, else
// now). Nodes that are back are forgotten.
func lostNodes(l listing, before map[string]time.Time, now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	mark := func(node string) {
		if _, ok := out[node]; ok {
			return
		}
		since, ok := before[node]
		if !ok {
			since = now
		}
		out[node] = since
	}
	known := map[string]bool{}
	for _, n := range l.nodes {
		known[n.Value.Metadata.Name] = true
		if !n.Value.Status.Ready {
			mark(n.Value.Metadata.Name)
		}
	}
	for _, it := range l.pods {
		if node := it.Value.Spec.NodeName; node != "" && !known[node] {
			mark(node)
		}
	}
	return out
}

// evictionPlan is what the lifecycle decides in one pass.
type evictionPlan struct {
	// evict are the Pods to delete now, in key order.
	evict []store.Item[api.Pod]
	// waiting counts the Pods of lost nodes held back by the rate limit or the grace.
	waiting int
	// brake says why nothing is evicted while many nodes are lost; "" otherwise.
	brake string
}

// planEvictions picks the Pods of nodes lost for grace, as many as take allows (it is called
// once per Pod and reports whether the rate limit lets it go). It is pure.
func planEvictions(l listing, lost map[string]time.Time, now time.Time, grace time.Duration, take func() bool) evictionPlan {
	var p evictionPlan
	total := len(l.nodes)
	for node := range lost {
		if !slices.ContainsFunc(l.nodes, func(n store.Item[api.Node]) bool { return n.Value.Metadata.Name == node }) {
			total++
		}
	}
	if len(lost) > 0 && 2*len(lost) > total {
		names := slices.Sorted(maps.Keys(lost))
		p.brake = fmt.Sprintf("evictions paused: %d of %d nodes are NotReady (%s): more than half, which points at the control plane or the network; their Pods stay until the nodes return or are deleted",
			len(lost), total, strings.Join(names, ", "))
		return p
	}
	for _, it := range l.pods {
		since, ok := lost[it.Value.Spec.NodeName]
		switch {
		case !ok:
		case now.Sub(since) < grace || !take():
			p.waiting++
		default:
			p.evict = append(p.evict, it)
		}
	}
	return p
}

// evictLost evicts the Pods planEvictions picks, each delete comparing the revision the Pod was
// listed at, and records the cluster's node state when it changed.
func (s *Scheduler) evictLost(ctx context.Context, log *slog.Logger, l listing) error {
	now := s.opts.Now()
	before := s.lost
	s.lost = lostNodes(l, s.lost, now)
	s.nodesLost(before, l)
	p := planEvictions(l, s.lost, now, s.opts.NodeLostGrace, func() bool { return s.limiter.take(now) })
	errs := []error{s.recordNodes(ctx, log, l, p)}
	for _, it := range p.evict {
		ns, name, _ := strings.Cut(it.Name, "/")
		err := s.st.DeletePod(ctx, ns, name, it.ModRevision)
		switch {
		case errors.Is(err, store.ErrConflict):
			// changed since the list; the next pass looks again
		case err != nil:
			errs = append(errs, fmt.Errorf("evict %s from lost node %s: %w", it.Name, it.Value.Spec.NodeName, err))
		default:
			log.Warn("evicted pod of lost node", "pod", it.Name, "node", it.Value.Spec.NodeName,
				"lost_for", now.Sub(s.lost[it.Value.Spec.NodeName]).Round(time.Millisecond))
		}
	}
	if p.waiting > 0 {
		s.due = true // held back by the limit or the grace: pass again soon
	}
	return errors.Join(errs...)
}

// recordNodes writes how many nodes are Ready and why evictions are paused, when that changed.
func (s *Scheduler) recordNodes(ctx context.Context, log *slog.Logger, l listing, p evictionPlan) error {
	st := api.NodesStatus{Total: len(l.nodes), NotReady: slices.Sorted(maps.Keys(s.lost)), EvictionsPaused: p.brake}
	st.Ready = st.Total - len(st.NotReady)
	if st.Ready < 0 {
		st.Ready = 0
	}
	if s.recorded != nil && slices.Equal(s.recorded.NotReady, st.NotReady) && s.recorded.Total == st.Total &&
		s.recorded.EvictionsPaused == st.EvictionsPaused {
		return nil
	}
	st.Time = s.opts.Now().UTC().Format(time.RFC3339)
	if err := s.st.PutNodesStatus(ctx, st); err != nil {
		return err
	}
	switch {
	case p.brake != "" && st.Total > 1:
		log.Warn("node lifecycle", "msg", p.brake)
	case p.brake != "":
		log.Info("node lifecycle", "msg", p.brake) // one node: there is nowhere else to go anyway
	}
	s.recorded = &st
	return nil
}

// limiter is a token bucket: rate tokens a second, at most burst saved.
type limiter struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

// take spends a token at now, if there is one.
func (b *limiter) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	} else {
		b.tokens = b.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
