package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/internal/wake"
	"github.com/gitfleet/gitfleet/store"
)

// hub keeps one set of watches for every browser: a cache per resource the page shows (each
// lists at a revision, then watches from it, as the controllers' caches do), a State rebuilt
// when any of them changes, and its JSON sent to each subscriber through a bounded buffer. A
// subscriber whose buffer is full is dropped rather than waited for: its browser reconnects
// and starts again from the latest State.
type hub struct {
	source, repo string
	log          *slog.Logger
	now          func() time.Time
	buffer       int
	minInterval  time.Duration

	syncs       *store.Cache[api.SyncStatus]
	health      *store.Cache[api.HealthStatus]
	history     *store.Cache[api.HistoryEntry]
	pins        *store.Cache[api.Pin]
	pods        *store.Cache[api.Pod]
	statuses    *store.Cache[api.PodStatus]
	nodes       *store.NodeCache
	nodesStatus *store.Cache[api.NodesStatus]
	services    *store.Cache[api.ServiceStatus]
	events      *store.Cache[api.Event]

	mu      sync.Mutex
	clients map[*subscriber]struct{}
	// latest is the JSON of the last State built; nil before the first.
	latest []byte
	ready  chan struct{} // closed once latest is set
	// seen is when each Pod (by name and binding revision) was first seen, for its age.
	seen map[podID]podSeen
	// published is set once the first State is built: Pods seen before were there at the start.
	published bool
	// dropped counts the subscribers dropped for a full buffer.
	dropped int
}

// podID tells apart two Pods that had one name one after the other.
type podID struct {
	name      string
	createRev int64
}

type podSeen struct {
	at      time.Time
	atStart bool
}

// subscriber is one browser's stream: the JSON of States, in order. ch is closed when the hub
// drops the subscriber.
type subscriber struct {
	ch chan []byte
}

func newHub(src store.CacheSource, cfg Config) *hub {
	opts := store.CacheOptions{Log: cfg.Log}
	return &hub{source: cfg.Source, repo: cfg.Repo, log: cfg.Log, now: cfg.Now, buffer: cfg.ClientBuffer, minInterval: cfg.MinInterval,
		syncs:       store.NewCache(src, store.Sync, store.DecodeJSON[api.SyncStatus], opts),
		health:      store.NewCache(src, store.Health, store.DecodeJSON[api.HealthStatus], opts),
		history:     store.NewCache(src, store.History, store.DecodeJSON[api.HistoryEntry], opts),
		pins:        store.NewCache(src, store.Pin, store.DecodeJSON[api.Pin], opts),
		pods:        store.NewCache(src, store.Pods, store.DecodeJSON[api.Pod], opts),
		statuses:    store.NewCache(src, store.PodStatus, store.DecodeJSON[api.PodStatus], opts),
		nodes:       store.NewNodeCache(src, opts),
		nodesStatus: store.NewCache(src, store.NodesStatus, store.DecodeJSON[api.NodesStatus], opts),
		services:    store.NewCache(src, store.ServiceStatus, store.DecodeJSON[api.ServiceStatus], opts),
		events:      store.NewCache(src, store.Events, store.DecodeJSON[api.Event], opts),
		clients:     map[*subscriber]struct{}{}, ready: make(chan struct{}), seen: map[podID]podSeen{},
	}
}

// run keeps the caches and publishes a State after their first lists and after every change,
// at most one per minInterval, until ctx ends.
func (h *hub) run(ctx context.Context) {
	changed := wake.New()
	var wg sync.WaitGroup
	for _, c := range []interface {
		Run(context.Context, func())
	}{h.syncs, h.health, h.history, h.pins, h.pods, h.statuses, h.nodes, h.nodesStatus, h.services, h.events} {
		wg.Go(func() { c.Run(ctx, changed.Notify) })
	}
	defer wg.Wait()
	if !h.waitSynced(ctx) {
		return
	}
	for {
		last := h.now()
		h.publish()
		if !backoff.Sleep(ctx, h.minInterval-h.now().Sub(last)) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// waitSynced waits for the first list of every cache; false when ctx ended first.
func (h *hub) waitSynced(ctx context.Context) bool {
	for _, wait := range []func(context.Context) error{h.syncs.WaitSynced, h.health.WaitSynced, h.history.WaitSynced,
		h.pins.WaitSynced, h.pods.WaitSynced, h.statuses.WaitSynced, h.nodes.WaitSynced, h.nodesStatus.WaitSynced, h.services.WaitSynced,
		h.events.WaitSynced} {
		if wait(ctx) != nil {
			return false
		}
	}
	return true
}

// publish builds the State of the caches and sends it to every subscriber, unless it is the
// one sent last.
func (h *hub) publish() {
	pods := h.pods.List()
	st := buildState(inputs{source: h.source, repo: h.repo, syncs: h.syncs.List(), health: h.health.List(),
		history: h.history.List(), pins: h.pins.List(), pods: pods, statuses: h.statuses.List(),
		nodes: h.nodes.List(), nodesStatus: h.nodesStatus.List(), services: h.services.List(),
		events: h.events.List(), since: h.ages(pods)}, h.now())
	b, err := json.Marshal(st)
	if err != nil {
		h.log.Error("encode dashboard state", "err", err)
		return
	}
	h.broadcast(b)
}

// ages records when each of pods was first seen and forgets those gone; it returns the lookup
// buildState takes.
func (h *hub) ages(pods []store.Item[api.Pod]) func(store.Item[api.Pod]) (time.Time, bool) {
	now := h.now()
	keep := make(map[podID]podSeen, len(pods))
	for _, p := range pods {
		id := podID{p.Name, p.CreateRevision}
		s, ok := h.seen[id]
		if !ok {
			s = podSeen{at: now, atStart: !h.published}
		}
		keep[id] = s
	}
	h.seen, h.published = keep, true
	return func(p store.Item[api.Pod]) (time.Time, bool) {
		s := keep[podID{p.Name, p.CreateRevision}]
		return s.at, s.atStart
	}
}

// broadcast makes b the latest State and queues it for every subscriber, dropping those whose
// buffer is full. The time-consuming part, writing to the network, is each subscriber's own.
func (h *hub) broadcast(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if string(b) == string(h.latest) {
		return
	}
	first := h.latest == nil
	h.latest = b
	if first {
		close(h.ready)
	}
	for c := range h.clients {
		select {
		case c.ch <- b:
		default:
			h.dropLocked(c)
		}
	}
}

// dropLocked ends c's stream; h.mu is held.
func (h *hub) dropLocked(c *subscriber) {
	delete(h.clients, c)
	close(c.ch)
	h.dropped++
	h.log.Warn("dropped a slow dashboard client: its buffer of states is full", "buffer", h.buffer)
}

// subscribe adds a subscriber whose stream starts with the latest State, once there is one.
func (h *hub) subscribe() *subscriber {
	c := &subscriber{ch: make(chan []byte, h.buffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.latest != nil {
		c.ch <- h.latest
	}
	h.clients[c] = struct{}{}
	return c
}

// unsubscribe removes c; a subscriber already dropped is left alone.
func (h *hub) unsubscribe(c *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.ch)
	}
}

// snapshot returns the latest State's JSON, waiting for the first one until ctx ends.
func (h *hub) snapshot(ctx context.Context) ([]byte, error) {
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the first state: %w", context.Cause(ctx))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latest, nil
}

// counts reports the subscribers connected and dropped so far.
func (h *hub) counts() (connected, dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients), h.dropped
}
