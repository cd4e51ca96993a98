package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// batch is the placements of a pass whose binds are not committed yet. Each Pod is assumed
// bound on the Cluster already, so that the Pods placed after it see it taken; a bind that does
// not commit undoes its assumption.
type batch struct {
	items []store.Item[api.Pod] // as read, unbound
	pls   []Placement
}

func (b *batch) add(it store.Item[api.Pod], pl Placement) {
	b.items = append(b.items, it)
	b.pls = append(b.pls, pl)
}

func (b *batch) reset() {
	b.items, b.pls = b.items[:0], b.pls[:0]
}

// bindings is what store.BindPods takes for b.
func (b *batch) bindings() []store.Binding {
	out := make([]store.Binding, len(b.items))
	for i, it := range b.items {
		out[i] = store.Binding{Pod: it.Value, ModRevision: it.ModRevision, Node: b.pls[i].Node}
	}
	return out
}

// flush commits the binds of b in one transaction and empties it. A Pod that changed since it
// was read fails alone: it is read again and bound alone (see retry), after every such Pod's
// assumption is undone, so that its new placement sees none of them. When the transaction
// fails whole, every assumption is undone and the Pods wait for the next pass, except when etcd
// refused it for its size: then each is bound alone at once.
func (s *Scheduler) flush(ctx context.Context, log *slog.Logger, b *batch, t *tally) {
	if len(b.items) == 0 {
		return
	}
	defer b.reset()
	bctx, cancel := context.WithTimeout(ctx, s.opts.PodTimeout)
	errs, err := s.st.BindPods(bctx, b.bindings())
	cancel()
	if err != nil {
		s.batchFailed(ctx, log, b, t, err)
		return
	}
	var conflicted []store.Item[api.Pod]
	for i, err := range errs {
		it, pl := b.items[i], b.pls[i]
		switch {
		case err == nil:
			log.Info("bound", "pod", it.Name, "node", pl.Node, "examined", pl.Examined, "feasible", pl.Feasible,
				"batch", len(errs))
			t.add(outcomeBound, nil)
			s.bound(it.Name, pl.Node)
		case errors.Is(err, store.ErrConflict):
			s.cluster.Assume(it)
			conflicted = append(conflicted, it)
		default:
			s.cluster.Assume(it)
			t.add(outcomeNone, fmt.Errorf("bind %s to %s: %w", it.Name, pl.Node, err))
		}
	}
	for _, it := range conflicted {
		t.add(s.retryAlone(ctx, log.With("pod", it.Name), it))
	}
}

// retryAlone is retry after a bind that lost in a batch, as its first attempt.
func (s *Scheduler) retryAlone(ctx context.Context, log *slog.Logger, it store.Item[api.Pod]) (out outcome, err error) {
	defer recoverPod(it.Name, &err)
	return s.retry(ctx, log, it, 1, fmt.Errorf("bind %s: %w", it.Name, store.ErrConflict))
}

// batchFailed undoes the assumptions of b, whose transaction failed whole with err.
func (s *Scheduler) batchFailed(ctx context.Context, log *slog.Logger, b *batch, t *tally, err error) {
	for _, it := range b.items {
		s.cluster.Assume(it)
	}
	var limit *store.LimitError
	if !errors.As(err, &limit) {
		t.add(outcomeNone, fmt.Errorf("bind a batch of %d: %w", len(b.items), err))
		return
	}
	log.Warn("etcd refused a batch of binds for its size; binding them one at a time", "pods", len(b.items), "err", err)
	for _, it := range b.items {
		t.add(s.scheduleOne(ctx, log.With("pod", it.Name), it))
	}
}
