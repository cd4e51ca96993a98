package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// runCache runs c until the test ends and returns how many times it announced a change.
func runCache[T any](t *testing.T, c *store.Cache[T]) *atomic.Int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	changes := new(atomic.Int64)
	go func() {
		defer close(done)
		c.Run(ctx, func() { changes.Add(1) })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if err := c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	return changes
}

// cacheHolds waits until c holds exactly want (name -> pod image) with the revisions etcd has.
func cacheHolds(t *testing.T, st *store.Store, c *store.Cache[api.Pod], want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		why := cacheDiff(t, st, c, want)
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cache never converged: %s", why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func cacheDiff(t *testing.T, st *store.Store, c *store.Cache[api.Pod], want map[string]string) string {
	items := c.List()
	if len(items) != len(want) {
		return fmt.Sprintf("%d items, want %d", len(items), len(want))
	}
	for i, it := range items {
		if i > 0 && items[i-1].Name >= it.Name {
			return "not in key order"
		}
		if img := it.Value.Spec.Containers[0].Image; img != want[it.Name] {
			return fmt.Sprintf("%s has image %q, want %q", it.Name, img, want[it.Name])
		}
		ns, name, _ := strings.Cut(it.Name, "/")
		_, rev, err := st.GetPod(context.Background(), ns, name)
		if err != nil || rev != it.ModRevision || it.CreateRevision == 0 {
			return fmt.Sprintf("%s at revision %d/%d, etcd has %d (%v)", it.Name, it.ModRevision, it.CreateRevision, rev, err)
		}
		if got, ok := c.Get(it.Name); !ok || got.ModRevision != it.ModRevision {
			return fmt.Sprintf("Get(%s) = %v, %v", it.Name, got, ok)
		}
	}
	return ""
}

func cachePod(name, image string) *api.Pod {
	return &api.Pod{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: api.ObjectMeta{Name: name, Namespace: "default"},
		Spec:     api.PodSpec{Containers: []api.Container{{Name: "main", Image: image}}}}
}

func TestCacheFollowsPutsUpdatesAndDeletes(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	for _, p := range []*api.Pod{cachePod("a", "a:1"), cachePod("b", "b:1")} {
		if err := st.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	storetest.Put(t, st, store.Pods, "default/garbage", "{not json")
	c := store.NewCache(st, store.Pods, store.DecodeJSON[api.Pod], store.CacheOptions{})
	changes := runCache(t, c)
	cacheHolds(t, st, c, map[string]string{"default/a": "a:1", "default/b": "b:1"})

	a, rev, err := st.GetPod(ctx, "default", "a")
	if err != nil {
		t.Fatal(err)
	}
	a.Spec.Containers[0].Image = "a:2"
	if err := st.UpdatePod(ctx, &a, rev); err != nil {
		t.Fatal(err)
	}
	if err := st.CreatePod(ctx, cachePod("c", "c:1")); err != nil {
		t.Fatal(err)
	}
	if err := st.DeletePod(ctx, "default", "b", 0); err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, st, store.Pods, "default/garbage2", "[]")
	cacheHolds(t, st, c, map[string]string{"default/a": "a:2", "default/c": "c:1"})

	// A good value overwritten with garbage leaves the cache, as it would leave a list.
	last := storetest.Put(t, st, store.Pods, "default/c", "garbage")
	cacheHolds(t, st, c, map[string]string{"default/a": "a:2"})
	if c.Revision() != last {
		t.Errorf("Revision() = %d, want %d, the last change", c.Revision(), last)
	}
	if changes.Load() < 2 {
		t.Errorf("%d changes announced, want at least the list and one batch", changes.Load())
	}
}

// gatedSource holds the cache's first watch back until open is closed, so that the test can
// compact past the listed revision before the watch starts: etcd then refuses it.
type gatedSource struct {
	*store.Store
	open    chan struct{}
	lists   atomic.Int64
	watches atomic.Int64
}

func (g *gatedSource) ListRaw(ctx context.Context, r store.Resource) ([]store.Item[[]byte], int64, error) {
	g.lists.Add(1)
	return g.Store.ListRaw(ctx, r)
}

func (g *gatedSource) Watch(ctx context.Context, r store.Resource, rev int64) <-chan store.Event {
	if g.watches.Add(1) == 1 {
		select {
		case <-g.open:
		case <-ctx.Done():
		}
	}
	return g.Store.Watch(ctx, r, rev)
}

func TestCacheRelistsAfterCompactedWatch(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	if err := st.CreatePod(ctx, cachePod("a", "a:1")); err != nil {
		t.Fatal(err)
	}
	src := &gatedSource{Store: st, open: make(chan struct{})}
	c := store.NewCache(src, store.Pods, store.DecodeJSON[api.Pod], store.CacheOptions{BackoffBase: 10 * time.Millisecond})
	runCache(t, c)
	if err := st.CreatePod(ctx, cachePod("b", "b:1")); err != nil {
		t.Fatal(err)
	}
	if err := st.DeletePod(ctx, "default", "a", 0); err != nil {
		t.Fatal(err)
	}
	rev, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Client().Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	close(src.open)
	cacheHolds(t, st, c, map[string]string{"default/b": "b:1"})
	if n := src.lists.Load(); n != 2 {
		t.Errorf("%d lists, want 2: the first and one after the compacted watch", n)
	}
}

// A desired value that does not decode stays in the cache with a nil Object, as ListDesired
// keeps it, so that the workload controller leaves its Pods alone until the sync repairs it.
func TestDesiredCacheKeepsUndecodableValues(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	web := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"}
	if _, err := st.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: web, Object: deployment("web", 2)}},
		Status: api.SyncStatus{Source: "test"}}); err != nil {
		t.Fatal(err)
	}
	c := store.NewCache(st, store.Desired, store.DecodeDesiredEntry, store.CacheOptions{})
	runCache(t, c)
	junk := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "junk"}
	storetest.Put(t, st, store.Desired, junk.String(), "{}")
	storetest.Put(t, st, store.Desired, "not-a-key", "{}")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := store.DesiredObjects(c.List()) // without not-a-key, which names no object
		if len(got) == 2 && got[web].Object != nil && got[junk].Object == nil && got[junk].ModRevision > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cache holds %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGetSyncAtCompacted(t *testing.T) {
	st := etcdtest.Start(t)
	ctx := context.Background()
	if _, err := st.CommitSync(ctx, store.SyncRecord{Status: api.SyncStatus{Source: "test", AppliedCommit: "c1"}}); err != nil {
		t.Fatal(err)
	}
	rev, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CommitSync(ctx, store.SyncRecord{Status: api.SyncStatus{Source: "test", AppliedCommit: "c2"}}); err != nil {
		t.Fatal(err)
	}
	if s, err := st.GetSyncAt(ctx, "test", rev); err != nil || s.AppliedCommit != "c1" {
		t.Fatalf("GetSyncAt = %+v, %v; want c1", s, err)
	}
	if _, err := st.Client().Compact(ctx, rev+1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSyncAt(ctx, "test", rev); !errors.Is(err, store.ErrCompacted) {
		t.Fatalf("GetSyncAt of a compacted revision = %v, want ErrCompacted", err)
	}
}
