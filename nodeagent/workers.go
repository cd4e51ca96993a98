package nodeagent

import (
	"context"
	"log/slog"
	"sync"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/wake"
)

// podWorkers run each Pod's steps on a goroutine of the Pod's own, as the kubelet's pod workers
// do, so that a slow stop, pull or start of one Pod never holds another, nor the pass that
// notices a change. A Pod has at most one operation in flight: a pass skips the Pods whose
// worker is busy, or finished after the pass observed the runtime, since its plan for them is
// stale; the end of each operation kicks a new pass, which plans from what then runs and is
// wanted. Each Pod thus always gets the latest wanted state, one operation at a time.
type podWorkers struct {
	mu sync.Mutex
	// busy holds the Pods with an operation in flight, each with the action it began with.
	busy map[api.PodKey]Action
	// epoch counts finished operations; finished[key] is the epoch at the end of the Pod's
	// last one, kept while a pass that observed before it may still dispatch.
	epoch    uint64
	finished map[api.PodKey]uint64
	// failures holds the error of each Pod whose last operation failed, for its status.
	failures map[api.PodKey]error
	// kick has a value when an operation ended since the last pass began.
	kick wake.Signal
	wg   sync.WaitGroup
}

func newPodWorkers() *podWorkers {
	return &podWorkers{busy: map[api.PodKey]Action{}, finished: map[api.PodKey]uint64{},
		failures: map[api.PodKey]error{}, kick: wake.New()}
}

// snapshot returns the epoch to observe the runtime at: a Pod whose operation ends after it
// is not dispatched by the plan of that observation.
func (w *podWorkers) snapshot() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.epoch
}

// dispatch starts fn, which begins with action, as key's operation unless key is busy or
// finished one since epoch; it reports whether it started it. fn's error is kept as the Pod's
// failure; nil clears it.
func (w *podWorkers) dispatch(ctx context.Context, key api.PodKey, action Action, epoch uint64, fn func(context.Context) error) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, busy := w.busy[key]; busy || w.finished[key] > epoch {
		return false
	}
	w.busy[key] = action
	w.wg.Go(func() {
		err := fn(ctx)
		w.finish(key, err)
	})
	return true
}

func (w *podWorkers) finish(key api.PodKey, err error) {
	w.mu.Lock()
	delete(w.busy, key)
	w.epoch++
	w.finished[key] = w.epoch
	if err != nil {
		w.failures[key] = err
	} else {
		delete(w.failures, key)
	}
	w.mu.Unlock()
	w.kick.Notify()
}

// forget drops what no pass observing at epoch or later needs: the end marks up to epoch, and
// the failures of Pods that are neither wanted nor busy.
func (w *podWorkers) forget(epoch uint64, wanted map[api.PodKey]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, e := range w.finished {
		if e <= epoch {
			delete(w.finished, key)
		}
	}
	for key := range w.failures {
		if _, busy := w.busy[key]; !wanted[key] && !busy {
			delete(w.failures, key)
		}
	}
}

// failure returns the error of key's last operation, nil if it succeeded.
func (w *podWorkers) failure(key api.PodKey) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failures[key]
}

// removing reports whether key's operation in flight removes what runs of it.
func (w *podWorkers) removing(key api.PodKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, busy := w.busy[key]
	return busy && a == ActionRemove
}

// inFlight reports how many Pods have an operation in flight.
func (w *podWorkers) inFlight() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.busy)
}

// wait waits for every operation in flight.
func (w *podWorkers) wait() { w.wg.Wait() }

// runSteps takes one Pod's steps in order and stops at the first that fails.
func (a *Agent) runSteps(ctx context.Context, log *slog.Logger, steps []Step, cfg podConfig) error {
	// A hung pull or runtime call fails this Pod's operation, which a later pass retries.
	ctx, cancel := context.WithTimeout(ctx, podApplyTimeout)
	defer cancel()
	for _, s := range steps {
		log.Info("apply", "step", s.String())
		start := a.opts.Now()
		if err := a.applyStep(ctx, s, cfg); err != nil {
			log.Warn("apply failed", "step", s.String(), "err", err)
			return err
		}
		a.stepDone(s, a.opts.Now().Sub(start))
	}
	return nil
}
