package source

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/gittest"
)

func writeTree(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Hard links to one file are read once, but each path counts toward the repository's limit:
// 1,200 links to a 1 MiB file are refused at the first path over it, not read 1,200 times.
func TestLoadDirHardLinksAndTotal(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	writeTree(t, big, strings.Repeat("#", api.MaxFileBytes))
	for i := range 3 {
		if err := os.Link(big, filepath.Join(dir, fmt.Sprintf("link%d.yaml", i))); err != nil {
			t.Skipf("hard links: %v", err)
		}
	}
	files, err := LoadDir(dir, "")
	if err != nil || len(files) != 4 || &files["big.yaml"][0] != &files["link1.yaml"][0] {
		t.Fatalf("LoadDir = %d files, %v; want 4 sharing one buffer", len(files), err)
	}
	for i := 3; i < api.MaxRepoBytes/api.MaxFileBytes+2; i++ {
		if err := os.Link(big, filepath.Join(dir, fmt.Sprintf("link%02d.yaml", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err = LoadDir(dir, "")
	fe, ok := AsFileErrors(err)
	if !ok || len(fe) != 1 || !strings.Contains(fe[0].Message, "more than 16 MiB, the limit for a repository") {
		t.Fatalf("over the total: %v", err)
	}
}

// Hidden directories and what .gitfleetignore names are not manifests, on disk and in git.
func TestIgnoredPaths(t *testing.T) {
	tree := map[string]string{
		"deploy/app.yaml":                    "a: 1\n",
		"deploy/.github/workflows/ci.yml":    "on: push\n",
		"deploy/.gitlab-ci/x.yaml":           "x: 1\n",
		"deploy/charts/values.yaml":          "v: 1\n",
		"deploy/sub/kustomization.yaml":      "k: 1\n",
		"deploy/sub/svc.yaml":                "s: 1\n",
		"deploy/" + IgnoreFile:               "# not manifests\ncharts/\nkustomization.yaml\n",
		"deploy/.hidden.yaml":                "h: 1\n", // hidden files are read: only directories are skipped
		"deploy/sub/.cache/generated.json":   "{}",
		"deploy/sub/notes/.keep":             "",
		"deploy/sub/notes/readme.md":         "",
		"deploy/sub/notes/deeper/other.yaml": "o: 1\n",
	}
	want := "deploy/.hidden.yaml,deploy/app.yaml,deploy/sub/notes/deeper/other.yaml,deploy/sub/svc.yaml"

	dir := t.TempDir()
	for p, c := range tree {
		writeTree(t, filepath.Join(dir, p), c)
	}
	files, err := LoadDir(dir, "deploy")
	if got := strings.Join(slices.Sorted(maps.Keys(files)), ","); err != nil || got != want {
		t.Errorf("LoadDir = %s, %v\nwant %s", got, err, want)
	}

	r := gittest.NewRemote(t)
	for p, c := range tree {
		r.Write(p, c)
	}
	commit := r.CommitAndPush("tree")
	src := newTestSource(t, r, "deploy")
	fetch(t, src)
	m, err := src.Manifests(context.Background(), commit, nil)
	if got := strings.Join(slices.Sorted(maps.Keys(m.Files)), ","); err != nil || got != want {
		t.Errorf("Manifests = %s, %v\nwant %s", got, err, want)
	}
}

// A symlink given as the directory is followed; one inside it is not, and a file is refused.
func TestLoadDirTopSymlink(t *testing.T) {
	real := filepath.Join(t.TempDir(), "real")
	writeTree(t, filepath.Join(real, "a.yaml"), "a: 1\n")
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if files, err := LoadDir(link, ""); err != nil || len(files) != 1 {
		t.Fatalf("LoadDir(symlink) = %v, %v", files, err)
	}
	if err := os.Symlink("a.yaml", filepath.Join(real, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(link, ""); err == nil {
		t.Fatal("a symlinked manifest inside the tree was followed")
	}
	if _, err := LoadDir(filepath.Join(real, "a.yaml"), ""); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("LoadDir(file) = %v", err)
	}
}
