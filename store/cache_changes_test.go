package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/store"
)

// scriptedSource is a CacheSource whose list is fixed and whose watches are channels the test
// feeds: each Watch takes the next of watches.
type scriptedSource struct {
	items   []store.Item[[]byte]
	rev     int64
	watches chan chan store.Event
	lists   atomic.Int64
}

var _ store.CacheSource = (*scriptedSource)(nil)

func (s *scriptedSource) ListRaw(context.Context, store.Resource) ([]store.Item[[]byte], int64, error) {
	s.lists.Add(1)
	return slices.Clone(s.items), s.rev, nil
}

func (s *scriptedSource) Watch(ctx context.Context, _ store.Resource, _ int64) <-chan store.Event {
	select {
	case ch := <-s.watches:
		return ch
	case <-ctx.Done():
		ch := make(chan store.Event)
		close(ch)
		return ch
	}
}

// waitUntil polls cond; the deadline is generous, not a performance claim.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s", what)
		}
	}
}

func putEvent(name string, rev int64, value string) store.Event {
	return store.Event{Resource: store.Pods, Name: name, Revision: rev, CreateRevision: rev, Value: []byte(value)}
}

// TestCacheTakeChanges: after a list every name counts as changed (all), whatever the watch
// says before the reader asks; then each call returns the names put or deleted since the last
// one, each once however often it changed, an undecodable put counting as a delete; a lost
// watch makes a relist, all again. Without TrackChanges nothing is kept.
func TestCacheTakeChanges(t *testing.T) {
	src := &scriptedSource{rev: 5, watches: make(chan chan store.Event, 2),
		items: []store.Item[[]byte]{{Name: "a", Value: []byte(`"1"`), ModRevision: 3}, {Name: "b", Value: []byte(`"1"`), ModRevision: 4}}}
	w1 := make(chan store.Event)
	src.watches <- w1
	c := store.NewCache(src, store.Pods, store.DecodeJSON[string], store.CacheOptions{TrackChanges: true, BackoffBase: time.Millisecond})
	runCache(t, c)
	w1 <- putEvent("c", 6, `"1"`) // before the reader asks: part of "all"
	waitUntil(t, "revision 6", func() bool { return c.Revision() == 6 })
	take := func(wantNames []string, wantAll bool) {
		t.Helper()
		names, all := c.TakeChanges()
		slices.Sort(names)
		if all != wantAll || fmt.Sprint(names) != fmt.Sprint(wantNames) {
			t.Fatalf("TakeChanges = %v, %v; want %v, %v", names, all, wantNames, wantAll)
		}
	}
	take(nil, true)
	take([]string{}, false)
	w1 <- putEvent("c", 7, `"2"`)
	w1 <- store.Event{Resource: store.Pods, Name: "a", Deleted: true, Revision: 8}
	w1 <- putEvent("c", 9, `"3"`)
	w1 <- putEvent("b", 10, `not json`)
	waitUntil(t, "revision 10", func() bool { return c.Revision() == 10 })
	take([]string{"a", "b", "c"}, false)
	if _, ok := c.Get("b"); ok {
		t.Error("b kept after an undecodable put")
	}
	take([]string{}, false)
	src.watches <- make(chan store.Event)
	close(w1)
	waitUntil(t, "a relist", func() bool { return src.lists.Load() == 2 && c.Revision() == 5 })
	take(nil, true)

	quiet := store.NewCache(&scriptedSource{rev: 1, watches: make(chan chan store.Event, 1)}, store.Pods,
		store.DecodeJSON[string], store.CacheOptions{})
	runCache(t, quiet)
	if names, all := quiet.TakeChanges(); len(names) != 0 || all {
		t.Errorf("TakeChanges without TrackChanges = %v, %v; want nothing", names, all)
	}
}
