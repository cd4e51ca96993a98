package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// recordingView keeps what each Sync was given; it fails while failing is set.
type recordingView struct {
	mu      sync.Mutex
	last    []api.Endpoints
	calls   int
	failing bool
	synced  chan struct{}
}

func newRecordingView(failing bool) *recordingView {
	return &recordingView{failing: failing, synced: make(chan struct{}, 100)}
}

func (v *recordingView) Sync(_ context.Context, services []api.Endpoints) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.calls++
	if v.failing {
		return errors.New("view down")
	}
	v.last = services
	v.synced <- struct{}{}
	return nil
}

func (v *recordingView) names() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, e := range v.last {
		out = append(out, e.Namespace+"/"+e.Name)
	}
	return out
}

func putEndpoints(t *testing.T, st *store.Store, ep api.Endpoints) {
	t.Helper()
	b, err := json.Marshal(ep)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, st, store.Endpoints, ep.Namespace+"/"+ep.Name, string(b))
}

// TestServiceLoopFeedsViews runs the loop on a real etcd: the views get every Service sorted,
// then each change; a view that fails is retried and does not hold back the other.
func TestServiceLoopFeedsViews(t *testing.T) {
	st := etcdtest.Start(t)
	putEndpoints(t, st, api.Endpoints{Namespace: "shop", Name: "web", ClusterIP: "10.96.0.2"})
	putEndpoints(t, st, api.Endpoints{Namespace: "default", Name: "db", ClusterIP: "10.96.0.3"})
	good, bad := newRecordingView(false), newRecordingView(true)
	ctx, cancel := context.WithCancel(t.Context())
	loop := newServiceLoop(st, []ServiceView{bad, good}, time.Hour, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() { defer close(done); loop.run(ctx) }()
	defer func() { cancel(); <-done }()

	waitNames(t, good, "default/db", "shop/web")
	putEndpoints(t, st, api.Endpoints{Namespace: "default", Name: "api", ClusterIP: "10.96.0.4"})
	waitNames(t, good, "default/api", "default/db", "shop/web")
	storetest.Delete(t, st, store.Endpoints, "shop/web")
	waitNames(t, good, "default/api", "default/db")

	bad.mu.Lock()
	calls := bad.calls
	bad.failing = false
	bad.mu.Unlock()
	if calls < 1 {
		t.Fatalf("the failing view was called %d times", calls)
	}
	waitNames(t, bad, "default/api", "default/db")
}

// waitNames waits until v's last sync held exactly names, in order.
func waitNames(t *testing.T, v *recordingView, names ...string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if got := v.names(); slices.Equal(got, names) {
			return
		}
		select {
		case <-v.synced:
		case <-time.After(100 * time.Millisecond): // a retried view syncs after its backoff
		case <-deadline:
			t.Fatalf("views synced %v, want %v", v.names(), names)
		}
	}
}
