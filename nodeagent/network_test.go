package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// fakeNodes is a NodeLister whose watches are one channel per resource that the test sends on.
type fakeNodes struct {
	mu      sync.Mutex
	nodes   []api.Node
	rev     int64
	watched []int64
	events  map[store.Resource]chan store.Event
	// lose makes the next watches of Nodes closed at once, as a watch etcd lost.
	lose int
}

func newFakeNodes(nodes ...api.Node) *fakeNodes {
	return &fakeNodes{nodes: nodes, rev: 1, events: map[store.Resource]chan store.Event{
		store.Nodes: make(chan store.Event), store.NodeSpecs: make(chan store.Event)}}
}

func (f *fakeNodes) ListNodes(context.Context) ([]store.Item[api.Node], int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Item[api.Node]
	for _, n := range f.nodes {
		out = append(out, store.Item[api.Node]{Name: n.Metadata.Name, Value: n})
	}
	return out, f.rev, nil
}

func (f *fakeNodes) Watch(_ context.Context, r store.Resource, rev int64) <-chan store.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.watched = append(f.watched, rev)
	if r == store.Nodes && f.lose > 0 {
		f.lose--
		ch := make(chan store.Event)
		close(ch)
		return ch
	}
	return f.events[r]
}

// set changes the node list, as a write at the next revision does.
func (f *fakeNodes) set(nodes ...api.Node) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes, f.rev = nodes, f.rev+1
}

// fakeRoutes records the node names of each Sync on a channel and fails while fail > 0.
type fakeRoutes struct {
	mu    sync.Mutex
	fail  int
	syncs chan string
}

func (f *fakeRoutes) Sync(_ context.Context, self string, nodes []api.Node) error {
	var names []string
	for _, n := range nodes {
		names = append(names, n.Metadata.Name)
	}
	f.syncs <- self + ":" + strings.Join(names, ",")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("network is unreachable")
	}
	return nil
}

// runNetwork runs a network loop of node a until the test ends and returns its logs.
func runNetwork(t *testing.T, st *fakeNodes, routes *fakeRoutes, resync time.Duration) (*bytes.Buffer, func()) {
	t.Helper()
	var mu sync.Mutex
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&networkLoop{st: st, routes: routes, self: "a", resync: resync, log: log}).run(ctx)
	}()
	stop := func() {
		cancel()
		// The loop may be sending its last sync.
		for {
			select {
			case <-routes.syncs:
			case <-done:
				return
			}
		}
	}
	t.Cleanup(stop)
	return logs, stop
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func nextSync(t *testing.T, routes *fakeRoutes, want string) {
	t.Helper()
	select {
	case got := <-routes.syncs:
		if got != want {
			t.Fatalf("sync of %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no sync of %q", want)
	}
}

func noSync(t *testing.T, routes *fakeRoutes) {
	t.Helper()
	select {
	case got := <-routes.syncs:
		t.Fatalf("unexpected sync of %q", got)
	case <-time.After(50 * time.Millisecond):
	}
}

func testNode(name string) api.Node { return api.Node{Metadata: api.ObjectMeta{Name: name}} }

// TestNetworkFollowsNodes checks that the loop syncs the routes at start and after each change
// of a node or a node spec, watching from the revision it listed, and stops quietly.
func TestNetworkFollowsNodes(t *testing.T) {
	st := newFakeNodes(testNode("a"), testNode("b"))
	routes := &fakeRoutes{syncs: make(chan string)}
	logs, stop := runNetwork(t, st, routes, time.Hour)
	nextSync(t, routes, "a:a,b")
	noSync(t, routes)

	st.set(testNode("a"), testNode("b"), testNode("c"))
	st.events[store.Nodes] <- store.Event{Resource: store.Nodes, Name: "c"}
	nextSync(t, routes, "a:a,b,c")
	st.set(testNode("a"), testNode("c"))
	st.events[store.NodeSpecs] <- store.Event{Resource: store.NodeSpecs, Name: "b", Deleted: true}
	nextSync(t, routes, "a:a,c")
	stop()

	st.mu.Lock()
	defer st.mu.Unlock()
	if want := []int64{1, 1, 2, 2, 3, 3}; !slices.Equal(st.watched, want) {
		t.Errorf("watched from revisions %v, want %v", st.watched, want)
	}
	if logs.Len() != 0 {
		t.Errorf("logged:\n%s", logs)
	}
}

// TestNetworkRetries checks that a failed sync is logged and retried without a change, a lost
// watch makes the loop list again, and that with no change at all it syncs every resync.
func TestNetworkRetries(t *testing.T) {
	st := newFakeNodes(testNode("a"))
	st.lose = 1
	routes := &fakeRoutes{syncs: make(chan string), fail: 2}
	logs, stop := runNetwork(t, st, routes, 100*time.Millisecond)
	for range 5 { // two failures, the sync that worked, one after the lost watch, one on resync
		nextSync(t, routes, "a:a")
	}
	stop()
	if n := strings.Count(logs.String(), `level=WARN msg="pod network sync failed" err="network is unreachable"`); n != 2 {
		t.Errorf("%d failures logged, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), `level=DEBUG msg="node watch lost"`) {
		t.Errorf("the lost watch was not logged:\n%s", logs)
	}
}
