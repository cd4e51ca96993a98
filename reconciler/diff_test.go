package reconciler

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func inNamespace[T api.Object](ns string, obj T) T {
	obj.GetMeta().Namespace = ns
	return obj
}

func annotated(obj api.Object, commit, source string) api.Object {
	m := obj.GetMeta()
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	m.Annotations[api.AnnotationCommit] = commit
	m.Annotations[api.AnnotationSource] = source
	return obj
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name    string
		desired []api.Object
		live    map[api.Key]store.DesiredObject
		want    string // "action key" per change, in order
	}{
		{"empty", nil, nil, ""},
		{"create", []api.Object{fixture.Deployment("web", 2, "nginx")}, nil, "create Deployment/default/web"},
		{"unchanged", []api.Object{fixture.Deployment("web", 2, "nginx")},
			fixture.Desired(5, fixture.Deployment("web", 2, "nginx")), "unchanged Deployment/default/web"},
		{"only commit and source annotations moved",
			[]api.Object{annotated(fixture.Deployment("web", 2, "nginx"), "c2", "web.yaml:3")},
			fixture.Desired(5, annotated(fixture.Deployment("web", 2, "nginx"), "c1", "web.yaml:1")),
			"unchanged Deployment/default/web"},
		{"other annotation changed",
			[]api.Object{annotated(fixture.Deployment("web", 2, "nginx"), "c2", "web.yaml:1")},
			fixture.Desired(5, func() api.Object {
				d := annotated(fixture.Deployment("web", 2, "nginx"), "c1", "web.yaml:1")
				d.GetMeta().Annotations["team"] = "a"
				return d
			}()),
			"update Deployment/default/web"},
		{"nil and empty collections are equal",
			[]api.Object{func() api.Object {
				d := fixture.Deployment("web", 2, "nginx")
				d.Metadata.Labels = map[string]string{}
				d.Spec.Template.Spec.Containers[0].Command = []string{}
				return d
			}()},
			fixture.Desired(5, fixture.Deployment("web", 2, "nginx")), "unchanged Deployment/default/web"},
		{"update", []api.Object{fixture.Deployment("web", 3, "nginx")},
			fixture.Desired(5, fixture.Deployment("web", 2, "nginx")), "update Deployment/default/web"},
		{"delete", nil, fixture.Desired(5, fixture.Pod("old", "busybox")), "delete Pod/default/old"},
		{"undecodable live value is updated", []api.Object{fixture.Deployment("web", 2, "nginx")},
			map[api.Key]store.DesiredObject{webKey: {ModRevision: 5}}, "update Deployment/default/web"},
		{"undecodable live value is deleted", nil,
			map[api.Key]store.DesiredObject{webKey: {ModRevision: 5}}, "delete Deployment/default/web"},
		{"order: kind, namespace, name; deletes last, reversed",
			[]api.Object{fixture.Pod("b", "x"), fixture.Deployment("z", 1, "x"), fixture.Pod("a", "x"), fixture.Deployment("a", 1, "y")},
			fixture.Desired(1, fixture.Deployment("a", 1, "x"), fixture.Pod("old1", "x"), fixture.Pod("old2", "x"), fixture.Deployment("gone", 1, "x")),
			"update Deployment/default/a,create Deployment/default/z,create Pod/default/a,create Pod/default/b," +
				"delete Pod/default/old2,delete Pod/default/old1,delete Deployment/default/gone"},
		{"order: namespaces, then configmaps, then workloads; deletes in exact reverse",
			[]api.Object{fixture.Pod("p", "x"), fixture.Deployment("d", 1, "x"), fixture.ConfigMap("default", "cm", nil),
				inNamespace("prod", fixture.Pod("p", "x")), fixture.Namespace("prod"), fixture.ConfigMap("prod", "cm", nil)},
			fixture.Desired(1, fixture.Namespace("old"), fixture.ConfigMap("old", "cm", nil), inNamespace("old", fixture.Pod("p", "x")),
				inNamespace("old", fixture.Deployment("d", 1, "x")), fixture.ConfigMap("default", "gone", nil)),
			"create Namespace//prod,create ConfigMap/default/cm,create ConfigMap/prod/cm," +
				"create Deployment/default/d,create Pod/default/p,create Pod/prod/p," +
				"delete Pod/old/p,delete Deployment/old/d,delete ConfigMap/old/cm,delete ConfigMap/default/gone," +
				"delete Namespace//old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := Diff(tt.desired, tt.live)
			var got []string
			for _, c := range cs.Changes {
				got = append(got, c.Action.String()+" "+c.Key.String())
			}
			if g := strings.Join(got, ","); g != tt.want {
				t.Fatalf("diff =\n  %s\nwant\n  %s", g, tt.want)
			}
		})
	}
}

func TestDiffWritesCarryRevisions(t *testing.T) {
	live := fixture.Desired(7, fixture.Deployment("web", 1, "a"), fixture.Pod("old", "a"), fixture.Pod("same", "a"))
	cs := Diff([]api.Object{fixture.Deployment("web", 2, "a"), fixture.Pod("same", "a"), fixture.Pod("new", "a")}, live)
	want := map[string]int64{"Deployment/default/web": 7, "Pod/default/new": 0, "Pod/default/old": 8}
	ws := cs.Writes()
	if len(ws) != len(want) {
		t.Fatalf("writes = %+v, want %d", ws, len(want))
	}
	for _, w := range ws {
		rev, ok := want[w.Key.String()]
		if !ok || rev != w.ModRevision {
			t.Errorf("write %s at rev %d, want %d (known %v)", w.Key, w.ModRevision, rev, ok)
		}
		if (w.Object == nil) != (w.Key.Name == "old") {
			t.Errorf("write %s: object %v", w.Key, w.Object)
		}
	}
	s := cs.Summary()
	if s != (api.ChangeSummary{Created: 1, Updated: 1, Deleted: 1, Unchanged: 1}) || cs.Empty() {
		t.Fatalf("summary = %+v, empty %v", s, cs.Empty())
	}
	if !Diff(nil, nil).Empty() {
		t.Fatal("empty diff is not Empty")
	}
}

func TestDiffOverwritesUndecodableAtItsRevision(t *testing.T) {
	web := fixture.Deployment("web", 2, "nginx")
	cs := Diff([]api.Object{web}, map[api.Key]store.DesiredObject{webKey: {ModRevision: 7}})
	ws := cs.Writes()
	if len(ws) != 1 || ws[0].Object != web || ws[0].ModRevision != 7 {
		t.Fatalf("writes = %+v, want web written over revision 7", ws)
	}
	if c := cs.Changes[0]; c.Action != Update || c.Live != nil {
		t.Fatalf("change = %+v, want an update of a value that could not be decoded", c)
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Create: "create", Update: "update", Delete: "delete",
		Unchanged: "unchanged", Action(0): "Action(0)"} {
		if a.String() != want {
			t.Errorf("Action(%d) = %q, want %q", int(a), a.String(), want)
		}
	}
}

func TestRenderGolden(t *testing.T) {
	web := fixture.Deployment("web", 3, "nginx:1.27")
	web.Metadata.Labels = map[string]string{"app.kubernetes.io/name": "web"}
	live := fixture.Desired(1,
		fixture.Deployment("web", 2, "nginx:1.25"),
		fixture.Deployment("api", 1, "api:v1"),
		fixture.Pod("old", "busybox"),
		fixture.ConfigMap("default", "web-config", map[string]string{"mode": "slow", "level": "info"}),
		fixture.ConfigMap("default", "retired", map[string]string{"a": "b"}),
		fixture.Namespace("legacy"),
	)
	desired := []api.Object{
		annotated(web, "c2", "deploy/web.yaml:1"),
		fixture.Deployment("api", 1, "api:v1"),
		fixture.Pod("debug", "busybox"),
		fixture.Deployment("cache", 1, "redis"),
		fixture.ConfigMap("default", "web-config", map[string]string{"mode": "fast", "level": "info", "new.txt": "x\n"}),
		fixture.Namespace("prod"),
	}
	golden(t, "changeset.golden", []byte(Diff(desired, live).String()))
}

// golden compares got with testdata/name, or rewrites the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", p, got, want)
	}
}
