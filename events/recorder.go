package events

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Store is where a Recorder writes; *store.Store implements it.
type Store interface {
	GrantLease(ctx context.Context, ttl time.Duration) (store.LeaseID, error)
	RecordEvents(ctx context.Context, source string, lease store.LeaseID, events []api.Event, limit int) error
}

var _ Store = (*store.Store)(nil)

// Counter counts; a prometheus.Counter is one.
type Counter interface{ Inc() }

// Options tune a Recorder; a zero field takes the default its comment names.
type Options struct {
	// Limit is how many events of this source one object keeps (20).
	Limit int
	// Queue is how many events may wait to be written; past it they are dropped (1000).
	Queue int
	// Batch is the most events one write takes (500).
	Batch int
	// TTL is how long an event is kept after it was last written (store.EventLeaseTTL).
	TTL time.Duration
	// Rotate is how long one lease serves writes: an event is kept between TTL and TTL+Rotate
	// (5m).
	Rotate time.Duration
	// WriteTimeout bounds one write to etcd (10s).
	WriteTimeout time.Duration
	// Dropped counts the events dropped, for a full queue or a failed write; nil counts none.
	Dropped Counter
	// Now is the clock of event times (time.Now).
	Now func() time.Time
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	o.Limit = cmp.Or(o.Limit, 20)
	o.Queue = cmp.Or(o.Queue, 1000)
	o.Batch = cmp.Or(o.Batch, 500)
	o.TTL = cmp.Or(o.TTL, store.EventLeaseTTL)
	o.Rotate = cmp.Or(o.Rotate, 5*time.Minute)
	o.WriteTimeout = cmp.Or(o.WriteTimeout, 10*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// maxMessage bounds an event's message, in bytes.
const maxMessage = 1024

// Recorder records the events of one source (api.EventSourceController, …): Event queues,
// Run writes. A nil *Recorder records nothing.
type Recorder struct {
	st     Store
	source string
	opts   Options
	queue  chan api.Event
	// lease is the lease writes go under until leaseEnd, when Run grants another.
	lease    store.LeaseID
	leaseEnd time.Time
}

// New returns the Recorder of source's events in st; it writes nothing until Run.
func New(st Store, source string, opts Options) *Recorder {
	opts = opts.withDefaults()
	return &Recorder{st: st, source: source, opts: opts, queue: make(chan api.Event, opts.Queue)}
}

// Event queues an event about obj of type typ (api.EventNormal or api.EventWarning). It never
// blocks: when the queue is full the event is dropped and counted, so that a storm of events
// costs a controller nothing but the drop.
func (r *Recorder) Event(obj api.Key, typ, reason, message string) {
	if r == nil {
		return
	}
	if len(message) > maxMessage {
		message = message[:maxMessage-len("…")] + "…"
	}
	now := r.opts.Now().UTC()
	e := api.Event{Type: typ, Reason: reason, Message: message, Object: obj, Source: r.source, Count: 1, FirstTime: now, LastTime: now}
	select {
	case r.queue <- e:
	default:
		r.drop(1)
	}
}

func (r *Recorder) drop(n int) {
	if r.opts.Dropped != nil {
		for range n {
			r.opts.Dropped.Inc()
		}
	}
}

// Run writes the queued events until ctx ends, then returns nil: each write takes what waits
// (up to Batch events), identical ones counted as one. A failed write is logged and its
// events dropped: the event log is a record for people, and must not hold a loop back.
func (r *Recorder) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-r.queue:
			r.write(ctx, r.take(e))
		}
	}
}

// take returns first and the events waiting behind it, up to Batch, identical ones counted
// into the first of them.
func (r *Recorder) take(first api.Event) []api.Event {
	batch := []api.Event{first}
	for len(batch) < r.opts.Batch {
		select {
		case e := <-r.queue:
			batch = coalesce(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// coalesce adds e to batch, counted into an event of batch that says the same.
func coalesce(batch []api.Event, e api.Event) []api.Event {
	for i := range batch {
		if batch[i].SameAs(e) {
			batch[i].Count += e.Count
			batch[i].LastTime = e.LastTime
			return batch
		}
	}
	return append(batch, e)
}

// write records batch under the current lease, granting one when it is due.
func (r *Recorder) write(ctx context.Context, batch []api.Event) {
	wctx, cancel := context.WithTimeout(ctx, r.opts.WriteTimeout)
	defer cancel()
	now := r.opts.Now()
	if !now.Before(r.leaseEnd) {
		lease, err := r.st.GrantLease(wctx, r.opts.TTL+r.opts.Rotate)
		if err != nil {
			r.failed(ctx, batch, err)
			return
		}
		r.lease, r.leaseEnd = lease, now.Add(r.opts.Rotate)
	}
	if err := r.st.RecordEvents(wctx, r.source, r.lease, batch, r.opts.Limit); err != nil {
		r.failed(ctx, batch, err)
	}
}

func (r *Recorder) failed(ctx context.Context, batch []api.Event, err error) {
	r.drop(len(batch))
	if ctx.Err() == nil {
		r.opts.Log.Warn("record events failed; dropped", "events", len(batch), "err", err)
	}
}
