package leader_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/leader"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const ttl = 2 * time.Second

// terms records the terms of every candidate, as each candidate saw them start and end.
type terms struct {
	mu     sync.Mutex
	spans  []span
	fences map[string]store.Fence // the current fence of each candidate leading now
}

type span struct {
	who        string
	start, end time.Time
}

// lead is a candidate's loop: it records its term and leads until told to stop.
func (r *terms) lead(who string) leader.Lead {
	return func(ctx context.Context, f store.Fence) error {
		r.mu.Lock()
		i := len(r.spans)
		r.spans = append(r.spans, span{who: who, start: time.Now()})
		r.fences[who] = f
		r.mu.Unlock()
		<-ctx.Done()
		r.mu.Lock()
		r.spans[i].end = time.Now()
		delete(r.fences, who)
		r.mu.Unlock()
		return nil
	}
}

// leading returns the candidates that believe they lead now, with their fences.
func (r *terms) leading() map[string]store.Fence {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.fences)
}

// waitLeader waits until who leads and returns its fence and how long that took.
func (r *terms) waitLeader(t *testing.T, who string, within time.Duration) (store.Fence, time.Duration) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < within {
		if f, ok := r.leading()[who]; ok {
			return f, time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s did not lead within %v; terms %v", who, within, r.spans)
	return store.Fence{}, 0
}

// checkNoOverlap fails t if two terms overlap, and logs them all: the evidence that at most
// one candidate led at any time.
func (r *terms) checkNoOverlap(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, a := range r.spans {
		end := a.end
		if end.IsZero() {
			end = time.Now()
		}
		t.Logf("term %d: %s led from %s for %v", i, a.who, a.start.Format("15:04:05.000"), end.Sub(a.start).Round(time.Millisecond))
		for _, b := range r.spans[i+1:] {
			bend := b.end
			if bend.IsZero() {
				bend = time.Now()
			}
			if a.start.Before(bend) && b.start.Before(end) {
				t.Errorf("terms overlap: %s %v–%v and %s %v–%v", a.who, a.start, end, b.who, b.start, bend)
			}
		}
	}
}

// candidate runs leader.Run for who on its own etcd client until the returned stop is called.
func candidate(t *testing.T, endpoints []string, r *terms, who string) (*store.Store, func()) {
	t.Helper()
	c, err := store.Connect(endpoints)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- leader.Run(ctx, st, leader.Config{Role: "test", Identity: who, TTL: ttl}, fixture.Logger(t), r.lead(who))
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run %s: %v", who, err)
			}
			c.Close()
		})
	}
	t.Cleanup(stop)
	return st, stop
}

// TestOneLeaderAtATime runs two candidates of one role: one leads, the other stands by; a
// leader that stops hands over at once, and one whose client dies (a crash, a partition) hands
// over within its TTL. The terms never overlap.
func TestOneLeaderAtATime(t *testing.T) {
	_, endpoints := etcdtest.StartWithEndpoints(t)
	r := &terms{fences: map[string]store.Fence{}}
	_, stopA := candidate(t, endpoints, r, "a")
	r.waitLeader(t, "a", 5*time.Second)
	stB, _ := candidate(t, endpoints, r, "b")
	time.Sleep(300 * time.Millisecond)
	if l := r.leading(); len(l) != 1 {
		t.Fatalf("leaders after b joined = %v, want a alone", l)
	}

	stopA() // a clean stop revokes a's lease
	_, took := r.waitLeader(t, "b", ttl)
	t.Logf("b led %v after a stopped", took)
	if took > time.Second {
		t.Errorf("handover after a stop took %v; the lease should be revoked, not waited out", took)
	}

	// a again, then b dies without a word: its client closes, its lease lives on until the TTL.
	candidate(t, endpoints, r, "a")
	time.Sleep(200 * time.Millisecond)
	stB.Client().Close()
	_, took = r.waitLeader(t, "a", ttl+2*time.Second)
	t.Logf("a led %v after b's client closed", took)
	r.checkNoOverlap(t)
}

// TestDeposedLeaderCannotWrite is the partitioned old leader: it still holds its fence and
// writes, but its lease was revoked and another candidate leads, so etcd refuses every write
// it makes (ErrNotLeader) and accepts the new leader's.
func TestDeposedLeaderCannotWrite(t *testing.T) {
	ctx := context.Background()
	st, endpoints := etcdtest.StartWithEndpoints(t)
	r := &terms{fences: map[string]store.Fence{}}
	candidate(t, endpoints, r, "a")
	oldFence, _ := r.waitLeader(t, "a", 5*time.Second)
	candidate(t, endpoints, r, "b")
	old := st.Fenced(oldFence)
	pod := func(name string) *api.Pod {
		return &api.Pod{Metadata: api.ObjectMeta{Namespace: "default", Name: name}}
	}
	if err := old.CreatePod(ctx, pod("before")); err != nil {
		t.Fatalf("write as leader: %v", err)
	}

	// The partition: a's lease ends in etcd, which a learns only later.
	resp, err := st.Client().Get(ctx, oldFence.Key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("read a's election key: %v, %v", resp, err)
	}
	if _, err := st.Client().Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	// a may still believe it leads for a moment: only the fence keeps it from writing.
	newFence, _ := r.waitLeader(t, "b", 5*time.Second)

	err = old.CreatePod(ctx, pod("after"))
	if !errors.Is(err, store.ErrNotLeader) {
		t.Fatalf("the deposed leader's write = %v, want ErrNotLeader", err)
	}
	t.Logf("deposed leader's write: %v", err)
	if err := old.PutHealth(ctx, api.HealthStatus{Source: "default"}); !errors.Is(err, store.ErrNotLeader) {
		t.Fatalf("the deposed leader's health write = %v, want ErrNotLeader", err)
	}
	if err := st.Fenced(newFence).CreatePod(ctx, pod("after")); err != nil {
		t.Fatalf("the new leader's write: %v", err)
	}
}

// TestCrashedCandidateIsReclaimed: a candidate that restarts after a crash finds its own key
// under a live lease and revokes it, instead of waiting out the TTL behind its own ghost.
func TestCrashedCandidateIsReclaimed(t *testing.T) {
	ctx := context.Background()
	st, endpoints := etcdtest.StartWithEndpoints(t)
	lease, err := st.Client().Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	ghost := fmt.Sprintf("%s/%x", store.LeaderPrefix("test"), lease.ID)
	if _, err := st.Client().Put(ctx, ghost, "a", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	r := &terms{fences: map[string]store.Fence{}}
	candidate(t, endpoints, r, "a")
	_, took := r.waitLeader(t, "a", 5*time.Second)
	t.Logf("a led %v after restart", took)
	if took > 2*time.Second {
		t.Errorf("a restarted candidate waited %v behind its own stale key", took)
	}
}
