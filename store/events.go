package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Events are written under /gitfleet/events/<source>/<namespace>/<kind>/<name>/<id>: each
// source (controller, scheduler, node:N) owns one prefix, so a node's right to write its
// events is one prefix naming it; a cluster-scoped object's namespace is "-". Each key is put
// under a lease that the writer grants for the events' lifetime, so that etcd expires them.

// clusterScoped stands for the empty namespace of a cluster-scoped object in event keys: no
// namespace name begins with "-".
const clusterScoped = "-"

// eventsPrefix is the prefix of source's events.
func eventsPrefix(source string) string { return prefix(Events) + source + "/" }

// eventObjectPrefix is the prefix of source's events about k.
func eventObjectPrefix(source string, k api.Key) string {
	return eventsPrefix(source) + cmp.Or(k.Namespace, clusterScoped) + "/" + k.Kind + "/" + k.Name + "/"
}

// eventBatch bounds the objects one transaction reads, and the operations one writes, under
// an external etcd's --max-txn-ops (128).
const eventBatch = 100

// RecordEvents writes events of source, each the count of identical ones since the last write,
// under lease: one that says the same as an event already stored for its object (api.SameAs)
// adds its count to it and moves its last time; beyond limit events of one object, the
// oldest (by last time) are deleted. It reads the objects' events in one transaction and
// writes in another per eventBatch objects, so a burst costs two round trips, not two per event.
// Two writers of one source (a leader and its successor) may lose a count between them: events
// are a record for people, not state.
func (s *Store) RecordEvents(ctx context.Context, source string, lease LeaseID, events []api.Event, limit int) error {
	byObject := map[api.Key][]api.Event{}
	var objects []api.Key
	for _, e := range events {
		if e.Source != source || strings.ContainsRune(e.Object.Kind+e.Object.Namespace+e.Object.Name, '/') {
			return fmt.Errorf("record event %s for %s: bad source or object", e.Reason, e.Object)
		}
		if byObject[e.Object] == nil {
			objects = append(objects, e.Object)
		}
		byObject[e.Object] = append(byObject[e.Object], e)
	}
	for chunk := range slices.Chunk(objects, eventBatch) {
		if err := s.recordChunk(ctx, source, lease, chunk, byObject, limit); err != nil {
			return err
		}
	}
	return nil
}

// recordChunk is RecordEvents of the events of objects.
func (s *Store) recordChunk(ctx context.Context, source string, lease LeaseID, objects []api.Key, byObject map[api.Key][]api.Event, limit int) error {
	reads := make([]clientv3.Op, len(objects))
	for i, k := range objects {
		reads[i] = clientv3.OpGet(eventObjectPrefix(source, k), clientv3.WithPrefix())
	}
	resp, err := s.c.Txn(ctx).Then(reads...).Commit()
	if err != nil {
		return fmt.Errorf("read events of %s: %w", source, err)
	}
	var ops []clientv3.Op
	for i, k := range objects {
		stored := decodeEvents(resp.Responses[i].GetResponseRange().Kvs)
		ops = append(ops, eventOps(eventObjectPrefix(source, k), stored, byObject[k], lease, limit)...)
	}
	for chunk := range slices.Chunk(ops, eventBatch) {
		if _, err := s.c.Txn(ctx).Then(chunk...).Commit(); err != nil {
			return fmt.Errorf("write events of %s: %w", source, err)
		}
	}
	return nil
}

// storedEvent is one event as read, with its key.
type storedEvent struct {
	key string
	ev  api.Event
}

func decodeEvents(kvs []*mvccpb.KeyValue) []storedEvent {
	out := make([]storedEvent, 0, len(kvs))
	for _, kv := range kvs {
		var e api.Event
		if json.Unmarshal(kv.Value, &e) == nil {
			out = append(out, storedEvent{string(kv.Key), e})
		}
	}
	return out
}

// eventOps are the writes that add events to those stored under pfx for one object: each
// counted into a stored one that says the same, else under a new key; then the oldest beyond
// limit deleted (0: no limit).
func eventOps(pfx string, stored []storedEvent, events []api.Event, lease LeaseID, limit int) []clientv3.Op {
	written, added := map[string]bool{}, map[string]bool{}
	for _, e := range events {
		i := slices.IndexFunc(stored, func(s storedEvent) bool { return s.ev.SameAs(e) })
		if i < 0 {
			stored = append(stored, storedEvent{key: newEventKey(pfx, e, stored), ev: e})
			i = len(stored) - 1
			added[stored[i].key] = true
		} else {
			s := &stored[i].ev
			s.Count += e.Count
			if e.LastTime.After(s.LastTime) {
				s.LastTime = e.LastTime
			}
		}
		written[stored[i].key] = true
	}
	// Newest first: those past limit go.
	slices.SortStableFunc(stored, func(a, b storedEvent) int { return b.ev.LastTime.Compare(a.ev.LastTime) })
	var ops []clientv3.Op
	for n, s := range stored {
		switch {
		case limit > 0 && n >= limit:
			if !added[s.key] {
				ops = append(ops, clientv3.OpDelete(s.key))
			}
		case written[s.key]:
			b, _ := json.Marshal(s.ev) // plain struct: always marshals
			ops = append(ops, clientv3.OpPut(s.key, string(b), clientv3.WithLease(lease)))
		}
	}
	return ops
}

// newEventKey names e's key under pfx: its first time in nanoseconds, zero-padded so that keys
// sort by it, moved on past any key taken.
func newEventKey(pfx string, e api.Event, stored []storedEvent) string {
	n := e.FirstTime.UnixNano()
	for {
		key := fmt.Sprintf("%s%020d", pfx, n)
		if !slices.ContainsFunc(stored, func(s storedEvent) bool { return s.key == key }) {
			return key
		}
		n++
	}
}

// ListEvents reads every event at one revision, which it returns, oldest last seen first.
func (s *Store) ListEvents(ctx context.Context) ([]api.Event, int64, error) {
	items, rev, err := list[api.Event](ctx, s, Events)
	if err != nil {
		return nil, 0, err
	}
	out := make([]api.Event, len(items))
	for i, it := range items {
		out[i] = it.Value
	}
	slices.SortStableFunc(out, func(a, b api.Event) int { return a.LastTime.Compare(b.LastTime) })
	return out, rev, nil
}

// EventLeaseTTL is how long an event is kept after it was last written: the lease it is put
// under is granted for so long.
const EventLeaseTTL = time.Hour
