package reconciler

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// twin is a controller of one repository into an etcd of its own.
type twin struct {
	st   *store.Store
	src  *source.Git
	ctrl *Controller
}

func newTwin(t *testing.T, remote *gittest.Remote) *twin {
	t.Helper()
	st := etcdtest.Start(t)
	src, err := source.New(source.Config{URL: remote.URL(), Path: "deploy", CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	return &twin{st: st, src: src, ctrl: New(st, src, fixture.Logger(t), Options{Now: fixedNow})}
}

// pass runs SyncOnce, or Resync when resync is set; cold drops the caches first.
func (tw *twin) pass(t *testing.T, resync, cold bool) api.SyncStatus {
	t.Helper()
	if cold {
		tw.ctrl.files, tw.ctrl.live = fileCache{}, liveCache{}
	}
	pass := tw.ctrl.SyncOnce
	if resync {
		pass = tw.ctrl.Resync
	}
	st, err := pass(context.Background())
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	return st
}

func (tw *twin) put(t *testing.T, k api.Key, value string) {
	t.Helper()
	storetest.Put(t, tw.st, store.Desired, k.String(), value)
}

// cacheRepo is the test's model of the repository: app files of three Deployments each, a
// Namespace and a ConfigMap some of them read.
type cacheRepo struct {
	remote  *gittest.Remote
	rng     *rand.Rand
	apps    map[string]int // app file path to its version
	next    int            // index of the next app file
	broken  string         // the path of a bad file, "" when none
	pinned  bool           // a rollback holds the source
	applied []string       // commits that synced
}

func appManifest(path string, version int) string {
	name := strings.TrimSuffix(filepath.Base(path), ".yaml")
	ns := "default"
	if strings.Contains(path, "/team/") {
		ns = "team"
	}
	var b strings.Builder
	for j := range 3 {
		b.WriteString("---\n")
		d := fixture.DeploymentYAML(fmt.Sprintf("%s-%d", name, j), 1+(version+j)%3, fmt.Sprintf("img:%d", version+j))
		d = strings.Replace(d, "metadata:\n  name:", "metadata:\n  namespace: "+ns+"\n  name:", 1)
		if j == 0 && ns == "team" {
			d = strings.Replace(d, "          image:", "          envFrom:\n            - configMapRef: {name: settings}\n          image:", 1)
		}
		b.WriteString(d)
	}
	return b.String()
}

func settingsManifest(mode string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: team\ndata:\n  mode: " + mode + "\n"
}

func (r *cacheRepo) addApp() string {
	dir := "deploy/"
	if r.rng.IntN(2) == 0 {
		dir = "deploy/team/"
	}
	path := fmt.Sprintf("%sapp%d.yaml", dir, r.next)
	r.next++
	r.apps[path] = 0
	r.remote.Write(path, appManifest(path, 0))
	return path
}

func (r *cacheRepo) randomApp() string {
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range r.apps {
			if !yield(p) {
				return
			}
		}
	})
	return paths[r.rng.IntN(len(paths))]
}

// breakFile writes a bad file of one of the kinds of errors a commit can have.
func (r *cacheRepo) breakFile() string {
	switch r.rng.IntN(5) {
	case 0:
		r.broken = "deploy/broken.yaml"
		r.remote.Write(r.broken, "apiVersion: apps/v1\nkind: [\n")
		return "syntax error"
	case 1:
		r.broken = r.randomApp()
		r.remote.Write(r.broken, strings.Replace(appManifest(r.broken, r.apps[r.broken]), "replicas: ", "replicas: -", 1))
		return "invalid object in " + r.broken
	case 2:
		r.broken = "deploy/copy.yaml"
		r.remote.Write(r.broken, appManifest(r.randomApp(), 0))
		return "duplicate objects"
	case 3:
		r.broken = "deploy/elsewhere.yaml"
		r.remote.Write(r.broken, strings.ReplaceAll(appManifest("deploy/team/x.yaml", 0), "namespace: team", "namespace: nowhere"))
		return "undeclared namespace"
	default:
		r.broken = "deploy/link.yaml"
		r.remote.Symlink(r.broken, "team")
		return "symlink"
	}
}

func (r *cacheRepo) fix() {
	if _, ok := r.apps[r.broken]; ok {
		r.remote.Write(r.broken, appManifest(r.broken, r.apps[r.broken]))
	} else {
		r.remote.Remove(r.broken)
	}
	r.broken = ""
}

// step makes one random change, or undoes the last bad file or pin, and says what it did and
// whether to pass by Resync rather than SyncOnce.
func (r *cacheRepo) step(t *testing.T, twins ...*twin) (string, bool) {
	t.Helper()
	if r.broken != "" {
		r.fix()
		r.remote.CommitAndPush("fix")
		return "fix", false
	}
	if r.pinned {
		r.pinned = false
		for _, tw := range twins {
			if _, err := tw.st.RequestSync(context.Background(), "default", api.SyncRequest{ID: "resume"}, store.PinChange{Remove: true}); err != nil {
				t.Fatal(err)
			}
		}
		return "unpin", false
	}
	var what string
	switch op := r.rng.IntN(10); {
	case op < 3:
		p := r.randomApp()
		r.apps[p]++
		r.remote.Write(p, appManifest(p, r.apps[p]))
		what = "edit " + p
	case op == 3:
		what = "add " + r.addApp()
	case op == 4 && len(r.apps) > 3:
		p := r.randomApp()
		delete(r.apps, p)
		r.remote.Remove(p)
		what = "delete " + p
	case op == 5:
		what = "break: " + r.breakFile()
	case op == 6:
		r.remote.Write("deploy/team/settings.yaml", settingsManifest(fmt.Sprint("m", r.rng.IntN(100))))
		what = "edit settings"
	case op == 7:
		r.remote.Write("README.md", fmt.Sprint("docs ", r.rng.IntN(1000), "\n"))
		what = "docs only"
	case op == 8:
		k := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "app0-1"}
		value := "not json"
		if r.rng.IntN(2) == 0 {
			d := fixture.Deployment(k.Name, int32(5+r.rng.IntN(5)), "drifted")
			value = string(must(json.Marshal(d)))
		}
		for _, tw := range twins {
			tw.put(t, k, value)
		}
		return "drift of " + k.String(), true
	case op == 9 && len(r.applied) > 2:
		pin := api.Pin{Commit: r.applied[r.rng.IntN(len(r.applied)-1)]}
		for _, tw := range twins {
			if _, err := tw.st.RequestSync(context.Background(), "default", api.SyncRequest{ID: "pin"}, store.PinChange{Set: &pin}); err != nil {
				t.Fatal(err)
			}
		}
		r.pinned = true
		return "pin " + api.ShortHash(pin.Commit), false
	default:
		return "idle", false
	}
	r.remote.CommitAndPush(what)
	return what, false
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCachedPassesMatchUncached is the property of the caches: a controller that keeps them
// decides every pass exactly as one that drops them before each pass, over random commits
// (edits, new and deleted files, bad files and their fixes, rollbacks) and writes behind its
// back. The two follow one repository, each into its own etcd.
func TestCachedPassesMatchUncached(t *testing.T) {
	remote := gittest.NewRemote(t)
	r := &cacheRepo{remote: remote, rng: rand.New(rand.NewPCG(7, 42)), apps: map[string]int{}}
	remote.Write("deploy/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n")
	remote.Write("deploy/team/settings.yaml", settingsManifest("fast"))
	for range 4 {
		r.addApp()
	}
	remote.CommitAndPush("initial")
	cached, cold := newTwin(t, remote), newTwin(t, remote)
	for step := range 60 {
		what, resync := "initial", false
		if step > 0 {
			what, resync = r.step(t, cached, cold)
		}
		got, want := cached.pass(t, resync, false), cold.pass(t, resync, true)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d (%s): status\n%+v\nwant (uncached)\n%+v", step, what, got, want)
		}
		t.Logf("step %d (%s): %s %s %+v %s", step, what, got.Sync, api.ShortHash(got.AppliedCommit), got.Changes, got.Message)
		if got.Sync == api.SyncSynced && got.PinnedCommit == "" && got.AppliedCommit == got.SeenCommit {
			r.applied = append(r.applied, got.AppliedCommit)
		}
		sameStores(t, step, cached.st, cold.st)
		checkCaches(t, step, cached)
	}
}

// sameStores compares the desired objects and the history of two stores.
func sameStores(t *testing.T, step int, a, b *store.Store) {
	t.Helper()
	ctx := context.Background()
	la, _, err := a.ListDesired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lb, _, err := b.ListDesired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(la, lb) {
		t.Fatalf("step %d: desired objects differ:\n%v\nwant (uncached)\n%v", step, la, lb)
	}
	ha, err := a.ListHistory(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	hb, err := b.ListHistory(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ha, hb) {
		t.Fatalf("step %d: histories differ:\n%+v\nwant (uncached)\n%+v", step, ha, hb)
	}
}

// checkCaches compares what the caches of tw hold with what the uncached functions compute: the
// live objects with store.ListDesired, the change set of the applied commit with Diff, and the
// commit read last with api.LoadSet of its files.
func checkCaches(t *testing.T, step int, tw *twin) {
	t.Helper()
	ctx := context.Background()
	c := tw.ctrl
	live, err := c.live.list(ctx, tw.st)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := tw.st.ListDesired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(live, want) {
		t.Fatalf("step %d: cached live objects\n%v\nwant\n%v", step, live, want)
	}
	if c.want.commit != "" {
		if got, want := c.diff(c.want, live), Diff(c.want.objects, want); !reflect.DeepEqual(got, want) {
			t.Fatalf("step %d: cached diff\n%v\nwant\n%v", step, got, want)
		}
	}
	files, err := tw.src.Files(ctx, c.seen.commit)
	if _, bad := source.AsFileErrors(err); bad {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	decoded, errs := api.LoadSet(files)
	if len(errs) > 0 {
		if !reflect.DeepEqual(c.seen.errs, errs) {
			t.Fatalf("step %d: cached errors\n%v\nwant\n%v", step, c.seen.errs, errs)
		}
		return
	}
	if objs := desiredObjects(decoded, c.seen.commit); !reflect.DeepEqual(c.seen.objects, objs) {
		t.Fatalf("step %d: cached objects differ from LoadSet's", step)
	}
	for i, obj := range c.seen.objects {
		if !bytes.Equal(c.seen.canon[i], canonicalJSON(obj)) {
			t.Fatalf("step %d: canonical form of %s is stale", step, api.KeyOf(obj))
		}
	}
}

func TestParallelCallsEachIndexOnceAndRaisesPanics(t *testing.T) {
	for _, n := range []int{0, 1, 2, 100} {
		calls := make([]int, n)
		parallel(n, func(i int) { calls[i]++ })
		for i, c := range calls {
			if c != 1 {
				t.Fatalf("n=%d: f(%d) called %d times", n, i, c)
			}
		}
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the panic of f", r)
		}
	}()
	parallel(100, func(i int) {
		if i == 42 {
			panic("boom")
		}
	})
	t.Fatal("parallel returned after f panicked")
}
