package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// pollDeadline bounds every wait of these tests; it is generous, not a performance claim.
const pollDeadline = 30 * time.Second

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startScheduler runs a Scheduler of st until the test ends and checks that Run returns nil.
func startScheduler(t *testing.T, st Store, name string, opts Options) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(st, testLogger(t).With("scheduler", name), opts).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// registerNode registers node with a heartbeat under a lease, as its agent would, and returns
// the lease.
func registerNode(t *testing.T, st *store.Store, node *api.Node) store.LeaseID {
	t.Helper()
	ctx := context.Background()
	lease, err := st.GrantLease(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutNode(ctx, node); err != nil {
		t.Fatal(err)
	}
	if err := st.PutNodeLease(ctx, node.Metadata.Name, lease); err != nil {
		t.Fatal(err)
	}
	return lease
}

func createPods(t *testing.T, st *store.Store, pods ...*api.Pod) {
	t.Helper()
	for _, p := range pods {
		if err := st.CreatePod(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds; on the deadline it fails with cond's last explanation.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s", what, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// podsBound reports whether the named Pods are bound, with their nodes.
func podsBound(t *testing.T, st *store.Store, names ...string) (map[string]string, bool, string) {
	t.Helper()
	nodes := map[string]string{}
	for _, name := range names {
		p, _, err := st.GetPod(context.Background(), "default", name)
		if err != nil {
			return nil, false, err.Error()
		}
		if p.Spec.NodeName == "" {
			return nil, false, fmt.Sprintf("%s unbound, status %+v", name, p.Status)
		}
		nodes[name] = p.Spec.NodeName
	}
	return nodes, true, ""
}

func TestSchedulerBindsSpreadsAndReportsUnschedulable(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	registerNode(t, st, testNode("n1", "2", "4Gi", "zone", "a"))
	registerNode(t, st, testNode("n2", "2", "4Gi", "zone", "b"))
	const web = "Deployment/default/web"
	createPods(t, st,
		testPod("web-1", owner(web), requests("100m", "128Mi")),
		testPod("solo", requests("500m", "1Gi")),
		testPod("picky", selector("disk", "ssd")))
	// Resync is long: only the watch drives this test.
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	startScheduler(t, st, "s1", Options{Resync: time.Hour, Now: func() time.Time { return clock }})
	createPods(t, st, testPod("web-2", owner(web), requests("100m", "128Mi")))

	var nodes map[string]string
	waitFor(t, "every schedulable pod bound", func() (ok bool, why string) {
		nodes, ok, why = podsBound(t, st, "web-1", "web-2", "solo")
		return ok, why
	})
	if nodes["web-1"] == nodes["web-2"] {
		t.Errorf("both replicas of %s on %s, want them spread", web, nodes["web-1"])
	}

	const wantMsg = "0/2 nodes are available: 2 node(s) didn't match Pod's node selector."
	var pickyRev int64
	waitFor(t, "picky marked unschedulable", func() (bool, string) {
		p, rev, err := st.GetPod(ctx, "default", "picky")
		pickyRev = rev
		st := p.Status
		ok := err == nil && p.Spec.NodeName == "" && st.Phase == api.PodPending &&
			st.Reason == api.ReasonUnschedulable && st.Message == wantMsg && st.ObservedAt == "2026-01-02T03:04:05Z"
		return ok, fmt.Sprintf("node %q, status %+v, err %v", p.Spec.NodeName, st, err)
	})

	// Another pass (caused by a new Pod) must not rewrite the unchanged status.
	createPods(t, st, testPod("late"))
	waitFor(t, "late bound", func() (bool, string) {
		_, ok, why := podsBound(t, st, "late")
		return ok, why
	})
	if _, rev, _ := st.GetPod(ctx, "default", "picky"); rev != pickyRev {
		t.Errorf("picky rewritten at revision %d after %d with nothing changed", rev, pickyRev)
	}

	registerNode(t, st, testNode("n3", "1", "1Gi", "disk", "ssd"))
	waitFor(t, "picky bound to the new matching node", func() (bool, string) {
		p, _, err := st.GetPod(ctx, "default", "picky")
		ok := err == nil && p.Spec.NodeName == "n3" && p.Status.Reason == "" && p.Status.Message == ""
		return ok, fmt.Sprintf("node %q, status %+v, err %v", p.Spec.NodeName, p.Status, err)
	})
}

func TestSchedulerWaitsForNodes(t *testing.T) {
	st := etcdtest.Start(t)
	createPods(t, st, testPod("p"))
	startScheduler(t, st, "s1", Options{})
	waitFor(t, "the no-nodes reason", func() (bool, string) {
		p, _, err := st.GetPod(context.Background(), "default", "p")
		return err == nil && p.Status.Message == "0/0 nodes are available: no nodes registered", fmt.Sprintf("%+v %v", p.Status, err)
	})
	registerNode(t, st, testNode("n1", "1", "1Gi"))
	waitFor(t, "p bound", func() (bool, string) {
		_, ok, why := podsBound(t, st, "p")
		return ok, why
	})
}

// rivalStore loses some binds on purpose: for the Pod "contested" another writer binds it to
// node "n2" just before the scheduler's own attempt; for "flaky" the first conflicts attempts
// fail with ErrConflict and write nothing.
type rivalStore struct {
	*store.Store
	conflicts int

	mu       sync.Mutex
	attempts map[string]int
}

func (r *rivalStore) BindPod(ctx context.Context, pod api.Pod, modRev int64, node string) error {
	if err := r.interfere(ctx, pod, modRev); err != nil {
		return err
	}
	return r.Store.BindPod(ctx, pod, modRev, node)
}

// BindPods interferes with each binding as BindPod does, then binds the others in one batch.
func (r *rivalStore) BindPods(ctx context.Context, binds []store.Binding) ([]error, error) {
	errs := make([]error, len(binds))
	var rest []store.Binding
	var at []int
	for i, b := range binds {
		if errs[i] = r.interfere(ctx, b.Pod, b.ModRevision); errs[i] == nil {
			rest, at = append(rest, b), append(at, i)
		}
	}
	restErrs, err := r.Store.BindPods(ctx, rest)
	if err != nil {
		return nil, err
	}
	for j, err := range restErrs {
		errs[at[j]] = err
	}
	return errs, nil
}

// interfere counts an attempt to bind pod; it binds contested to n2 first, or fails flaky.
func (r *rivalStore) interfere(ctx context.Context, pod api.Pod, modRev int64) error {
	r.mu.Lock()
	r.attempts[pod.Metadata.Name]++
	n := r.attempts[pod.Metadata.Name]
	r.mu.Unlock()
	switch {
	case pod.Metadata.Name == "contested" && n == 1:
		if err := r.Store.BindPod(ctx, pod, modRev, "n2"); err != nil {
			return fmt.Errorf("rival bind: %w", err)
		}
	case pod.Metadata.Name == "flaky" && n <= r.conflicts:
		return fmt.Errorf("injected: %w", store.ErrConflict)
	}
	return nil
}

func (r *rivalStore) attemptsOf(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts[name]
}

func TestSchedulerRereadsOnConflict(t *testing.T) {
	st := etcdtest.Start(t)
	rs := &rivalStore{Store: st, conflicts: 2, attempts: map[string]int{}}
	registerNode(t, st, testNode("n1", "2", "4Gi"))
	registerNode(t, st, testNode("n2", "2", "4Gi"))
	createPods(t, st, testPod("contested", hostPort(80, "")), testPod("flaky", hostPort(80, "")))
	startScheduler(t, rs, "s1", Options{BindRetries: 3})
	var nodes map[string]string
	waitFor(t, "both pods bound", func() (ok bool, why string) {
		nodes, ok, why = podsBound(t, st, "contested", "flaky")
		return ok, why
	})
	if nodes["contested"] != "n2" {
		t.Errorf("contested on %s, want n2 where the rival bound it", nodes["contested"])
	}
	// The scheduler learned of the rival's bind from the re-read: flaky must avoid port 80 on n2.
	if nodes["flaky"] != "n1" {
		t.Errorf("flaky on %s, want n1 (n2's port 80 is taken)", nodes["flaky"])
	}
	if n := rs.attemptsOf("contested"); n != 1 {
		t.Errorf("%d bind attempts for contested, want 1: a bound Pod is not bound again", n)
	}
	if n := rs.attemptsOf("flaky"); n != 3 {
		t.Errorf("%d bind attempts for flaky, want 3 (2 conflicts, then success)", n)
	}
}

// eventStore changes what the scheduler's watches see: lost closes the first watch of each
// resource at once, as a compaction would; silent makes every watch a channel that never sends.
type eventStore struct {
	*store.Store
	lost, silent bool

	mu      sync.Mutex
	watches map[store.Resource]int
}

func (e *eventStore) Watch(ctx context.Context, r store.Resource, rev int64) <-chan store.Event {
	e.mu.Lock()
	e.watches[r]++
	n := e.watches[r]
	e.mu.Unlock()
	switch {
	case e.silent:
		return make(chan store.Event)
	case e.lost && n == 1:
		ch := make(chan store.Event)
		close(ch)
		return ch
	}
	return e.Store.Watch(ctx, r, rev)
}

func (e *eventStore) watchesOf(r store.Resource) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.watches[r]
}

func TestSchedulerRewatchesAfterLostWatch(t *testing.T) {
	st := etcdtest.Start(t)
	es := &eventStore{Store: st, lost: true, watches: map[store.Resource]int{}}
	registerNode(t, st, testNode("n1", "1", "1Gi"))
	startScheduler(t, es, "s1", Options{Resync: time.Hour, BackoffBase: 10 * time.Millisecond})
	waitFor(t, "a second watch", func() (bool, string) {
		return es.watchesOf(store.Pods) >= 2, fmt.Sprintf("%d watches of pods", es.watchesOf(store.Pods))
	})
	createPods(t, st, testPod("p"))
	waitFor(t, "p bound through the new watch", func() (bool, string) {
		_, ok, why := podsBound(t, st, "p")
		return ok, why
	})
}

func TestSchedulerResyncsWithoutEvents(t *testing.T) {
	st := etcdtest.Start(t)
	es := &eventStore{Store: st, silent: true, watches: map[store.Resource]int{}}
	registerNode(t, st, testNode("n1", "1", "1Gi"))
	startScheduler(t, es, "s1", Options{Resync: 50 * time.Millisecond})
	createPods(t, st, testPod("p"))
	waitFor(t, "p bound by a periodic pass", func() (bool, string) {
		_, ok, why := podsBound(t, st, "p")
		return ok, why
	})
}

// bindLog records every successful bind, across schedulers.
type bindLog struct {
	mu    sync.Mutex
	binds map[string][]string // pod name -> nodes it was bound to
}

func (b *bindLog) record(pod, node string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.binds[pod] = append(b.binds[pod], node)
}

// countingStore records the successful binds of one scheduler in a shared bindLog.
type countingStore struct {
	*store.Store
	log *bindLog
}

func (c countingStore) BindPod(ctx context.Context, pod api.Pod, modRev int64, node string) error {
	err := c.Store.BindPod(ctx, pod, modRev, node)
	if err == nil {
		c.log.record(pod.Metadata.Name, node)
	}
	return err
}

func (c countingStore) BindPods(ctx context.Context, binds []store.Binding) ([]error, error) {
	errs, err := c.Store.BindPods(ctx, binds)
	for i, e := range errs {
		if e == nil {
			c.log.record(binds[i].Pod.Metadata.Name, binds[i].Node)
		}
	}
	return errs, err
}

func TestTwoSchedulersNeverBindTwice(t *testing.T) {
	st := etcdtest.Start(t)
	for i := range 3 {
		registerNode(t, st, testNode(fmt.Sprintf("n%d", i), "64", "256Gi"))
	}
	const n = 40
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("p-%02d", i)
	}
	for _, name := range names[:n/2] {
		createPods(t, st, testPod(name, owner("Deployment/default/p"), requests("100m", "64Mi")))
	}
	binds := &bindLog{binds: map[string][]string{}}
	startScheduler(t, countingStore{st, binds}, "s1", Options{})
	startScheduler(t, countingStore{st, binds}, "s2", Options{})
	for _, name := range names[n/2:] {
		createPods(t, st, testPod(name, owner("Deployment/default/p"), requests("100m", "64Mi")))
	}
	var nodes map[string]string
	waitFor(t, "every pod bound", func() (ok bool, why string) {
		nodes, ok, why = podsBound(t, st, names...)
		return ok, why
	})
	binds.mu.Lock()
	defer binds.mu.Unlock()
	for _, name := range names {
		if got := binds.binds[name]; len(got) != 1 || got[0] != nodes[name] {
			t.Errorf("%s: successful binds %v, now on %s; want exactly one, to that node", name, got, nodes[name])
		}
	}
}

func TestRunReturnsWhenContextEnds(t *testing.T) {
	st := etcdtest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(st, nil, Options{}).Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(pollDeadline):
		t.Fatal("Run did not return after its context ended")
	}
}

// panicky is a filter that panics for the Pod named boom.
type panicky struct{}

func (panicky) Name() string { return "Panicky" }

func (panicky) Filter(pod *PodInfo, _ *NodeInfo) *Status {
	if pod.Pod.Metadata.Name == "boom" {
		panic("boom")
	}
	return nil
}

func TestSchedulerSurvivesPanickingPlugin(t *testing.T) {
	st := etcdtest.Start(t)
	registerNode(t, st, testNode("n1", "1", "1Gi"))
	createPods(t, st, testPod("a"), testPod("boom"), testPod("c"))
	p := DefaultProfile()
	p.Filters = append(p.Filters, panicky{})
	startScheduler(t, st, "s1", Options{Profile: p, BackoffBase: 10 * time.Millisecond})
	waitFor(t, "the other pods bound", func() (bool, string) {
		_, ok, why := podsBound(t, st, "a", "c")
		return ok, why
	})
	createPods(t, st, testPod("d"))
	waitFor(t, "a pod created later bound", func() (bool, string) {
		_, ok, why := podsBound(t, st, "d")
		return ok, why
	})
	if p, _, _ := st.GetPod(context.Background(), "default", "boom"); p.Spec.NodeName != "" {
		t.Errorf("boom bound to %s", p.Spec.NodeName)
	}
}
