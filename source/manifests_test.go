package source

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/gittest"
)

func TestSourceManifestsReadsOnlyChangedBlobs(t *testing.T) {
	ctx := context.Background()
	r := gittest.NewRemote(t)
	r.Write("deploy/a.yaml", "a: 1\n")
	r.Write("deploy/b.yaml", "b: 1\n")
	r.Write("deploy/sub/c.yml", "c: 1\n")
	r.Write("deploy/README.md", "not a manifest")
	first := r.CommitAndPush("one")
	src := newTestSource(t, r, "deploy")
	fetch(t, src)
	m1, err := src.Manifests(ctx, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	paths := func(m map[string][]byte) string { return strings.Join(slices.Sorted(maps.Keys(m)), ",") }
	if got := paths(m1.Files); got != "deploy/a.yaml,deploy/b.yaml,deploy/sub/c.yml" || len(m1.Blobs) != 3 {
		t.Fatalf("first: files %s, blobs %v", got, m1.Blobs)
	}

	r.Write("deploy/b.yaml", "b: 2\n")
	r.Write("deploy/d.json", "{}")
	r.Remove("deploy/sub/c.yml")
	second := r.CommitAndPush("two")
	fetch(t, src)
	m2, err := src.Manifests(ctx, second, m1.Blobs)
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(m2.Files); got != "deploy/b.yaml,deploy/d.json" {
		t.Fatalf("second read %s, want only the changed and new files", got)
	}
	if string(m2.Files["deploy/b.yaml"]) != "b: 2\n" {
		t.Fatalf("b = %q", m2.Files["deploy/b.yaml"])
	}
	want := map[string]string{"deploy/a.yaml": m1.Blobs["deploy/a.yaml"],
		"deploy/b.yaml": m2.Blobs["deploy/b.yaml"], "deploy/d.json": m2.Blobs["deploy/d.json"]}
	if !maps.Equal(m2.Blobs, want) || m2.Blobs["deploy/b.yaml"] == m1.Blobs["deploy/b.yaml"] {
		t.Fatalf("second blobs = %v, first %v", m2.Blobs, m1.Blobs)
	}
	// A known hash that is not the file's own is read again.
	stale := map[string]string{"deploy/a.yaml": m1.Blobs["deploy/b.yaml"]}
	if m, err := src.Manifests(ctx, second, stale); err != nil || paths(m.Files) != "deploy/a.yaml,deploy/b.yaml,deploy/d.json" {
		t.Fatalf("with a stale hash: read %s, %v", paths(m.Files), err)
	}

	// The rules of Files hold whatever the caller knows.
	r.Symlink("deploy/link.yaml", "a.yaml")
	third := r.CommitAndPush("three")
	fetch(t, src)
	_, err = src.Manifests(ctx, third, m2.Blobs)
	if fe, ok := AsFileErrors(err); !ok || len(fe) != 1 || fe[0].File != "deploy/link.yaml" {
		t.Fatalf("symlink: %v", err)
	}
}
