package store

import (
	"context"

	"github.com/gitfleet/gitfleet/internal/wake"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Event says that the key Name of a resource changed at Revision. Loops that only wake up on it
// ignore Value; a Cache applies it.
type Event struct {
	Resource Resource
	Name     string
	Deleted  bool
	// Revision is the ModRevision of the change: of the put, or of the delete.
	Revision int64
	// CreateRevision is the key's CreateRevision; 0 for a delete.
	CreateRevision int64
	// Value is the raw value put; nil for a delete.
	Value []byte
}

// Watch sends each change of resource r after revision rev. The channel closes when ctx ends or
// the watch is lost (for example compacted); the caller then lists again and watches from there.
// Loops either use changes only to wake up (they re-read the state and act on it) or apply
// them to a Cache.
func (s *Store) Watch(ctx context.Context, r Resource, rev int64) <-chan Event {
	return s.watch(ctx, r, prefix(r), rev)
}

// watch is Watch of the keys under p, a prefix within r.
func (s *Store) watch(ctx context.Context, r Resource, p string, rev int64) <-chan Event {
	out := make(chan Event, 64)
	wch := s.c.Watch(clientv3.WithRequireLeader(ctx), p, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	go func() {
		defer close(out)
		for resp := range wch {
			if resp.Err() != nil || resp.Canceled {
				return
			}
			for _, ev := range resp.Events {
				c := Event{
					Resource: r,
					Name:     relName(r, string(ev.Kv.Key)),
					Deleted:  ev.Type == clientv3.EventTypeDelete,
					Revision: ev.Kv.ModRevision,
				}
				if !c.Deleted {
					c.CreateRevision, c.Value = ev.Kv.CreateRevision, ev.Kv.Value
				}
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// WaitAny returns once any of chans delivers an event or closes, or ctx ends: a loop that
// re-reads everything each pass waits on its watches with it. Cancel the watches' context
// after: it stops them, and the goroutines WaitAny leaves to drain them end.
func WaitAny(ctx context.Context, chans ...<-chan Event) {
	woken := wake.New()
	for _, ch := range chans {
		go func() {
			select {
			case <-ch:
				woken.Notify()
			case <-ctx.Done():
			}
		}()
	}
	select {
	case <-woken:
	case <-ctx.Done():
	}
}
