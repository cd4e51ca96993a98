package dashboard

import (
	"context"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

const cmManifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: %s
`

// TestDiffs: the last sync's diff is the one from the commit applied before to the applied
// one, and the pending commit's is `gitfleet diff` of its tree against the live state, or its
// errors at file:line.
func TestDiffs(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	remote := gittest.NewRemote(t)
	remote.Write("cm.yaml", strings.Replace(cmManifest, "%s", "blue", 1))
	a := remote.CommitAndPush("blue")
	remote.Write("cm.yaml", strings.Replace(cmManifest, "%s", "green", 1))
	b := remote.CommitAndPush("green")
	remote.Write("cm.yaml", strings.Replace(cmManifest, "%s", "[unclosed", 1))
	bad := remote.CommitAndPush("broken")
	repo, err := source.New(source.Config{URL: remote.URL(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	commitSync(t, st, a, "blue")
	commitSync(t, st, b, "green")
	status := api.SyncStatus{Source: api.DefaultSource, SeenCommit: bad, AppliedCommit: b, Sync: api.SyncFailed}
	if _, err := st.CommitSync(ctx, store.SyncRecord{Status: status}); err != nil {
		t.Fatal(err)
	}
	d := newDiffs(st, Config{Commits: repo}.withDefaults())
	out, err := d.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.Last == nil || out.Last.From != a || out.Last.To != b {
		t.Fatalf("last: %+v", out.Last)
	}
	for _, want := range []string{"diff -u live/ConfigMap/default/settings git/ConfigMap/default/settings", "-  color: blue\n+  color: green\n"} {
		if !strings.Contains(out.Last.Text, want) {
			t.Errorf("last sync's diff lacks %q:\n%s", want, out.Last.Text)
		}
	}
	if p := out.Pending; p == nil || p.To != bad || len(p.Errors) == 0 || p.Errors[0].File != "cm.yaml" || p.Errors[0].Line == 0 {
		t.Fatalf("pending broken commit: %+v", out.Pending)
	}
	again, _ := d.get(ctx)
	if again.Last != out.Last {
		t.Error("the same diff was computed twice")
	}
}
