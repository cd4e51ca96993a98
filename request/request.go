package request

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Store is what requesters need of the store; *store.Store implements it.
type Store interface {
	RequestSync(ctx context.Context, source string, req api.SyncRequest, pc store.PinChange) (int64, error)
	GetSync(ctx context.Context, source string) (api.SyncStatus, error)
	GetHealth(ctx context.Context, source string) (api.HealthStatus, error)
	ListHistory(ctx context.Context, source string) ([]api.HistoryEntry, error)
	Revision(ctx context.Context) (int64, error)
	Watch(ctx context.Context, r store.Resource, rev int64) <-chan store.Event
}

var _ Store = (*store.Store)(nil)

// Ask is what a requester asks of the controller.
type Ask struct {
	// Commit, when set, is the commit the requester expects at the branch head (a push hook
	// passes the pushed commit).
	Commit string
	// AllowMassPrune lets this one sync delete more than the prune limit.
	AllowMassPrune bool
	// Pin changes the source's pin in the same write.
	Pin store.PinChange
}

// Ticket is a request sent: its ID and the revision it was written at.
type Ticket struct {
	Source   string
	ID       string
	Revision int64
}

// ErrNoAnswer is wrapped by the error of a wait that ended before the controller answered.
var ErrNoAnswer = errors.New("no answer from the controller")

// NewID returns a random ID for a sync request.
func NewID() string { return strings.ToLower(rand.Text()[:16]) }

// Send writes a new sync request of source, dated now, and returns its ticket.
func Send(ctx context.Context, st Store, source string, ask Ask, now time.Time) (Ticket, error) {
	req := api.SyncRequest{ID: NewID(), Commit: ask.Commit, AllowMassPrune: ask.AllowMassPrune,
		Time: now.UTC().Format(time.RFC3339)}
	rev, err := st.RequestSync(ctx, source, req, ask.Pin)
	if err != nil {
		return Ticket{}, fmt.Errorf("send sync request: %w", err)
	}
	return Ticket{Source: source, ID: req.ID, Revision: rev}, nil
}

// Answers reports whether st answers t: it records a request written at t's revision or later.
// A later request replaces an earlier one, and the pass that answers it fetched after both.
func (t Ticket) Answers(st api.SyncStatus) bool { return st.RequestRevision >= t.Revision }

// Wait waits until the controller answered t and returns its sync status. It reads the status
// whenever it changes; when ctx ends first it fails with an error wrapping ErrNoAnswer.
func Wait(ctx context.Context, st Store, t Ticket) (api.SyncStatus, error) {
	var got api.SyncStatus
	var last error
	done := func(ctx context.Context) (bool, error) {
		s, err := st.GetSync(ctx, t.Source)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				last = err
			}
			return false, nil
		}
		got = s
		return t.Answers(s), nil
	}
	if err := until(ctx, st, store.Sync, t.Revision, done); err != nil {
		if last != nil {
			return api.SyncStatus{}, fmt.Errorf("wait for sync request %s: %w (last read: %w)", t.ID, ErrNoAnswer, last)
		}
		return api.SyncStatus{}, fmt.Errorf("wait for sync request %s: %w: %w", t.ID, ErrNoAnswer, err)
	}
	return got, nil
}

// WaitHealth waits until the health recorded for source is about commit and settled, as
// settled says of each record about commit (nil: Healthy or Degraded, see Settled), and returns
// it. When ctx ends first it returns the last record about commit with an error.
func WaitHealth(ctx context.Context, st Store, source, commit string, settled func(api.HealthStatus) bool) (api.HealthStatus, error) {
	if settled == nil {
		settled = func(h api.HealthStatus) bool { return Settled(h, nil) }
	}
	var last api.HealthStatus
	done := func(ctx context.Context) (bool, error) {
		h, err := st.GetHealth(ctx, source)
		if err != nil || h.AppliedCommit != commit {
			return false, nil
		}
		last = h
		return settled(h), nil
	}
	rev, err := st.Revision(ctx)
	if err != nil {
		return last, fmt.Errorf("wait for health: %w", err)
	}
	if err := until(ctx, st, store.Health, rev, done); err != nil {
		return last, fmt.Errorf("wait for health of %s: %w", api.ShortHash(commit), err)
	}
	return last, nil
}

// rewatchPause bounds how fast until watches again after a lost watch.
const rewatchPause = 200 * time.Millisecond

// until calls done now and after every change of r from rev on, until it reports true, fails,
// or ctx ends (its cause is returned). A lost watch is replaced; done is called again then,
// because a change may have been missed.
func until(ctx context.Context, st Store, r store.Resource, rev int64, done func(context.Context) (bool, error)) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := st.Watch(wctx, r, rev)
	for {
		ok, err := done(ctx)
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case _, open := <-events:
			if !open {
				select {
				case <-ctx.Done():
					return context.Cause(ctx)
				case <-time.After(rewatchPause):
				}
				if now, err := st.Revision(ctx); err == nil {
					rev = now
				}
				events = st.Watch(wctx, r, rev)
			}
		}
	}
}
