package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/internal/backoff"
)

// This file keeps a resource decoded in memory, in the manner of an informer: list once, then
// apply the watch's changes, so that a loop that reads the whole resource on every change does
// not ask etcd for all of it every time. etcd has no server-side filter, so a relist costs every
// value of the resource.

// CacheSource is what a Cache reads: *Store, or a test's wrapper of it.
type CacheSource interface {
	ListRaw(ctx context.Context, r Resource) ([]Item[[]byte], int64, error)
	Watch(ctx context.Context, r Resource, rev int64) <-chan Event
}

var _ CacheSource = (*Store)(nil)

// CacheOptions tune a Cache; a zero field takes the default named in its comment.
type CacheOptions struct {
	// BackoffBase and BackoffMax bound the jittered, doubling wait before a relist after a
	// failed list or a lost watch (100ms, 30s).
	BackoffBase, BackoffMax time.Duration
	// Quiet relists after the watch sent nothing for so long (0: never): a safety net against a
	// watch that stopped without an error, at the price of one list per quiet period.
	Quiet time.Duration
	// Log receives relists after failures (nil: discarded).
	Log *slog.Logger
	// TrackChanges keeps the names of the items changed since the last TakeChanges, for a
	// reader that keeps state of its own and updates it key by key (false: the cache keeps
	// nothing a reader that never asks would not drain).
	TrackChanges bool
}

// Decoder turns the value stored under name into a T; an error leaves the key out of the cache,
// as list leaves out what it cannot decode.
type Decoder[T any] func(name string, value []byte) (T, error)

// DecodeJSON is the Decoder of the values gitfleet writes.
func DecodeJSON[T any](_ string, value []byte) (T, error) {
	var v T
	err := json.Unmarshal(value, &v)
	return v, err
}

// Cache holds every decoded value of one resource, kept current by a watch. Its readers get
// read-only snapshots: the Items are copies, but the maps, slices and pointers inside a Value are
// shared with the cache and with every other reader, so a reader that changes one must copy it
// first. The cache itself never changes a Value in place: a change replaces it.
type Cache[T any] struct {
	src    CacheSource
	r      Resource
	decode Decoder[T]
	opts   CacheOptions

	mu     sync.RWMutex
	items  map[string]Item[T]
	rev    int64
	synced chan struct{} // closed after the first list
	once   sync.Once
	// changed and relisted are what TakeChanges returns, kept when opts.TrackChanges.
	changed  map[string]struct{}
	relisted bool
}

// NewCache returns a cache of resource r read from src; it is empty until Run lists.
func NewCache[T any](src CacheSource, r Resource, decode Decoder[T], opts CacheOptions) *Cache[T] {
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = 100 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Cache[T]{src: src, r: r, decode: decode, opts: opts, items: map[string]Item[T]{},
		synced: make(chan struct{})}
}

// errQuiet ends a watch that sent nothing for Quiet; it is not a failure.
var errQuiet = errors.New("watch quiet")

// Run lists, then applies the watch's changes from the listed revision, until ctx ends. It calls
// onChange after each list and each batch of changes it applied, from its own goroutine; onChange
// must not block. A failed list or a lost watch (for example compacted) is retried with a new
// list after a capped, jittered backoff.
func (c *Cache[T]) Run(ctx context.Context, onChange func()) {
	bo := backoff.New(c.opts.BackoffBase, c.opts.BackoffMax)
	for ctx.Err() == nil {
		err := c.relist(ctx)
		if err == nil {
			onChange()
			var alive bool
			alive, err = c.watch(ctx, onChange)
			if alive {
				bo.Reset()
			}
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errQuiet) {
			continue
		}
		wait := bo.Next()
		c.opts.Log.Warn("relisting after failure", "resource", c.r, "err", err, "wait", wait)
		if !backoff.Sleep(ctx, wait) {
			return
		}
	}
}

// relist replaces the cache's content with a fresh list.
func (c *Cache[T]) relist(ctx context.Context) error {
	raw, rev, err := c.src.ListRaw(ctx, c.r)
	if err != nil {
		return err
	}
	items := make(map[string]Item[T], len(raw))
	for _, it := range raw {
		v, err := c.decode(it.Name, it.Value)
		if err != nil {
			continue
		}
		items[it.Name] = Item[T]{Name: it.Name, Value: v, ModRevision: it.ModRevision, CreateRevision: it.CreateRevision}
	}
	c.mu.Lock()
	c.items, c.rev = items, rev
	if c.opts.TrackChanges {
		c.relisted, c.changed = true, nil
	}
	c.mu.Unlock()
	c.once.Do(func() { close(c.synced) })
	return nil
}

// watch applies the changes after the cache's revision until ctx ends, the watch is lost, or it
// is quiet for Quiet. alive reports whether it applied any change.
func (c *Cache[T]) watch(ctx context.Context, onChange func()) (alive bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := c.src.Watch(ctx, c.r, c.Revision())
	var quiet <-chan time.Time
	var timer *time.Timer
	if c.opts.Quiet > 0 {
		timer = time.NewTimer(c.opts.Quiet)
		defer timer.Stop()
		quiet = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return alive, ctx.Err()
		case <-quiet:
			return alive, errQuiet
		case ev, ok := <-ch:
			if !ok {
				return alive, fmt.Errorf("watch of %s lost", c.r)
			}
			batch, open := drain(ch, ev)
			c.apply(batch)
			onChange()
			alive = true
			if !open {
				return alive, fmt.Errorf("watch of %s lost", c.r)
			}
			if timer != nil {
				timer.Reset(c.opts.Quiet)
			}
		}
	}
}

// drain returns first and the events already waiting on ch, and whether ch is still open, so
// that a burst is applied, and announced, once.
func drain(ch <-chan Event, first Event) ([]Event, bool) {
	batch := []Event{first}
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return batch, false
			}
			batch = append(batch, ev)
		default:
			return batch, true
		}
	}
}

// apply changes the cache by batch: a put replaces its key's item, a delete, or a put of a value
// that does not decode, removes it.
func (c *Cache[T]) apply(batch []Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range batch {
		c.rev = max(c.rev, ev.Revision)
		c.track(ev.Name)
		if ev.Deleted {
			delete(c.items, ev.Name)
			continue
		}
		v, err := c.decode(ev.Name, ev.Value)
		if err != nil {
			delete(c.items, ev.Name)
			continue
		}
		c.items[ev.Name] = Item[T]{Name: ev.Name, Value: v, ModRevision: ev.Revision, CreateRevision: ev.CreateRevision}
	}
}

// track records that name changed, when the cache tracks changes; c.mu is held.
func (c *Cache[T]) track(name string) {
	if !c.opts.TrackChanges || c.relisted {
		return // after a relist every name counts as changed
	}
	if c.changed == nil {
		c.changed = map[string]struct{}{}
	}
	c.changed[name] = struct{}{}
}

// TakeChanges returns the names of the items put or deleted since the last call, and forgets
// them; all reports that a list replaced the whole cache meanwhile, so that every item, and every
// name the reader knows but the cache no longer holds, counts as changed (names is then nil).
// It tells only with CacheOptions.TrackChanges. Read each name with Get: as with a work queue,
// a reader acts on the latest state of a key, not on each event.
func (c *Cache[T]) TakeChanges() (names []string, all bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.relisted {
		c.relisted, c.changed = false, nil
		return nil, true
	}
	names = make([]string, 0, len(c.changed))
	for name := range c.changed {
		names = append(names, name)
	}
	c.changed = nil
	return names, false
}

// List returns every item in key order (by Name), as a read-only snapshot (see Cache).
func (c *Cache[T]) List() []Item[T] {
	out, _ := c.ListAt()
	return out
}

// ListAt is List that also returns the Revision the items are as of.
func (c *Cache[T]) ListAt() ([]Item[T], int64) {
	c.mu.RLock()
	out := make([]Item[T], 0, len(c.items))
	for _, it := range c.items {
		out = append(out, it)
	}
	rev := c.rev
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b Item[T]) int { return cmp.Compare(a.Name, b.Name) })
	return out, rev
}

// Get returns the item of name, read-only (see Cache), and whether there is one.
func (c *Cache[T]) Get(name string) (Item[T], bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	it, ok := c.items[name]
	return it, ok
}

// Revision is the revision the cache reflects: that of its last list, or of the last change it
// applied since. The resource was as cached at that revision (later changes may be on their way).
func (c *Cache[T]) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// Synced reports whether the first list is in.
func (c *Cache[T]) Synced() bool {
	select {
	case <-c.synced:
		return true
	default:
		return false
	}
}

// WaitSynced waits for the first list; it fails only when ctx ends first.
func (c *Cache[T]) WaitSynced(ctx context.Context) error {
	select {
	case <-c.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the cache of %s: %w", c.r, ctx.Err())
	}
}
