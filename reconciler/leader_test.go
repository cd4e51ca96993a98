package reconciler

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/leader"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestTwoControllersOneLeader is the tester's finding: two controllers on one etcd and two
// pushes in a row. Under one election only the leader syncs, so each commit is recorded once
// and the Deployment's replicas only ever move forward; when the leader stops, the other
// takes over and applies the next push.
func TestTwoControllersOneLeader(t *testing.T) {
	e := newSyncEnv(t, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"}
	replicas := e.watchReplicas(ctx, t, key)

	stops := map[string]context.CancelFunc{}
	dones := map[string]chan error{}
	for _, who := range []string{"a", "b"} {
		src, err := source.New(source.Config{URL: e.remote.URL(), Path: "deploy", PollInterval: 20 * time.Millisecond,
			CacheDir: filepath.Join(t.TempDir(), "cache")})
		if err != nil {
			t.Fatal(err)
		}
		cctx, stop := context.WithCancel(ctx)
		// The goroutine sends on its own channel: reading dones there would race with the
		// next candidate's entry being added.
		done := make(chan error, 1)
		stops[who], dones[who] = stop, done
		log := fixture.Logger(t).With("candidate", who)
		go func() {
			done <- leader.Run(cctx, e.st, leader.Config{Role: "controller", Identity: who, TTL: 2 * time.Second}, log,
				func(ctx context.Context, f store.Fence) error {
					return New(e.st.Fenced(f), src, log, Options{Now: fixedNow}).Run(ctx)
				})
		}()
	}
	first := e.remote.Head()
	e.waitApplied(t, first)
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 3, "nginx:1.27"))
	e.remote.CommitAndPush("scale to 3")
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 4, "nginx:1.27"))
	second := e.remote.CommitAndPush("scale to 4")
	e.waitApplied(t, second)
	time.Sleep(300 * time.Millisecond) // room for a second writer to show itself

	// The leader stops; the other applies the next push.
	resp, err := e.st.Client().Get(ctx, store.LeaderPrefix("controller")+"/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("read the leader: %v, %v", resp, err)
	}
	who := string(resp.Kvs[0].Value)
	stops[who]()
	if err := <-dones[who]; err != nil {
		t.Fatalf("run %s: %v", who, err)
	}
	t.Logf("stopped the leader, %s", who)
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 5, "nginx:1.27"))
	third := e.remote.CommitAndPush("scale to 5")
	e.waitApplied(t, third)
	time.Sleep(300 * time.Millisecond)
	cancel()

	hist, err := e.st.ListHistory(context.Background(), DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, h := range hist {
		t.Logf("history %d: %s %s", h.ID, api.ShortHash(h.Commit.Hash), h.Result)
		if seen[h.Commit.Hash] {
			t.Errorf("commit %s recorded twice", api.ShortHash(h.Commit.Hash))
		}
		seen[h.Commit.Hash] = true
	}
	if len(hist) < 3 || len(hist) > 4 || hist[0].Commit.Hash != first || hist[len(hist)-1].Commit.Hash != third {
		t.Errorf("history has %d entries; want the first commit, the second (maybe the one between) and the third", len(hist))
	}
	got := <-replicas
	t.Logf("replicas as written: %v", got)
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Fatalf("replicas flipped back: %v", got)
		}
	}
}

// DefaultName is the source the test controllers follow.
const DefaultName = api.DefaultSource

// waitApplied waits until the sync status records commit as applied.
func (e *syncEnv) waitApplied(t *testing.T, commit string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := e.st.GetSync(context.Background(), DefaultName); err == nil && st.AppliedCommit == commit && st.Sync == api.SyncSynced {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("commit %s not applied within 20s", api.ShortHash(commit))
}

// watchReplicas records the replicas of every write of key until ctx ends, then sends them.
func (e *syncEnv) watchReplicas(ctx context.Context, t *testing.T, key api.Key) <-chan []int32 {
	rev := e.revision(t)
	out := make(chan []int32, 1)
	go func() {
		var got []int32
		for ev := range e.st.Watch(ctx, store.Desired, rev) {
			if ev.Name != key.String() || ev.Deleted {
				continue
			}
			var d api.Deployment
			if json.Unmarshal(ev.Value, &d) == nil && d.Spec.Replicas != nil {
				got = append(got, *d.Spec.Replicas)
			}
		}
		out <- got
	}()
	return out
}
