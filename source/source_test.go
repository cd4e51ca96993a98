package source

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/gittest"
)

func newTestSource(t *testing.T, r *gittest.Remote, sub string) *Git {
	t.Helper()
	src, err := New(Config{URL: r.URL(), Path: sub, CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatalf("new source: %v", err)
	}
	return src
}

func fetch(t *testing.T, src *Git) string {
	t.Helper()
	c, err := src.Fetch(context.Background())
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return c
}

func TestSourceFetchFollowsBranchAndFiltersFiles(t *testing.T) {
	ctx := context.Background()
	r := gittest.NewRemote(t)
	r.Write("deploy/web.yaml", "a: 1\n")
	r.Write("deploy/nested/api.yml", "b: 2\n")
	r.Write("deploy/x.json", "{}")
	r.Write("deploy/README.md", "not a manifest")
	r.Write("other/db.yaml", "c: 3\n")
	first := r.CommitAndPush("one")
	src := newTestSource(t, r, "deploy")
	if got := fetch(t, src); got != first {
		t.Fatalf("fetch = %s, want %s", got, first)
	}
	files, err := src.Files(ctx, first)
	if err != nil {
		t.Fatalf("files: %v", err)
	}
	want := []string{"deploy/nested/api.yml", "deploy/web.yaml", "deploy/x.json"}
	if got := slices.Sorted(maps.Keys(files)); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("files = %v, want %v", got, want)
	}
	if string(files["deploy/web.yaml"]) != "a: 1\n" {
		t.Fatalf("content = %q", files["deploy/web.yaml"])
	}
	// Same head: no download, same answer.
	if got := fetch(t, src); got != first {
		t.Fatalf("second fetch = %s, want %s", got, first)
	}
	r.Write("deploy/web.yaml", "a: 2\n")
	second := r.CommitAndPush("two")
	if got := fetch(t, src); got != second {
		t.Fatalf("fetch after push = %s, want %s", got, second)
	}
	files, err = src.Files(ctx, second)
	if err != nil || string(files["deploy/web.yaml"]) != "a: 2\n" {
		t.Fatalf("files at second = %q, %v", files["deploy/web.yaml"], err)
	}
	// A force-push back to a new commit on top of the first is followed.
	r.Git("reset", "--hard", first)
	r.Write("deploy/web.yaml", "a: 3\n")
	third := r.CommitAndPush("three, force-pushed")
	if got := fetch(t, src); got != third {
		t.Fatalf("fetch after force-push = %s, want %s", got, third)
	}
}

func TestSourceReusesCacheDir(t *testing.T) {
	r := gittest.NewRemote(t)
	r.Write("a.yaml", "x: 1\n")
	head := r.CommitAndPush("one")
	cache := filepath.Join(t.TempDir(), "cache")
	for i := 0; i < 2; i++ {
		src, err := New(Config{URL: r.URL(), CacheDir: cache})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if got := fetch(t, src); got != head {
			t.Fatalf("fetch %d = %s, want %s", i, got, head)
		}
	}
}

func TestSourceFileErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *gittest.Remote)
		sub   string
		want  string
	}{
		{"symlink out of repo", func(r *gittest.Remote) { r.Symlink("deploy/pw.yaml", "/etc/passwd") },
			"deploy", "deploy/pw.yaml:1: symlink to \"/etc/passwd\" points outside the repository"},
		{"symlink climbing out", func(r *gittest.Remote) { r.Symlink("deploy/up", "../../x") },
			"deploy", "deploy/up:1: symlink to \"../../x\" points outside the repository"},
		{"symlinked manifest inside", func(r *gittest.Remote) { r.Symlink("deploy/b.yaml", "a.yaml") },
			"deploy", "deploy/b.yaml:1: is a symlink"},
		{"oversized file", func(r *gittest.Remote) { r.Write("deploy/big.yaml", strings.Repeat("#", api.MaxFileBytes+1)) },
			"deploy", "deploy/big.yaml:1: file is 1048577 bytes"},
		{"missing path", func(*gittest.Remote) {}, "nope", "nope:1: directory not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gittest.NewRemote(t)
			r.Write("deploy/a.yaml", "a: 1\n")
			tt.setup(r)
			head := r.CommitAndPush("c")
			src := newTestSource(t, r, tt.sub)
			_, err := src.Files(context.Background(), fetch(t, src))
			fe, ok := AsFileErrors(err)
			if !ok || len(fe) != 1 || !strings.HasPrefix(fe[0].Error(), tt.want) {
				t.Fatalf("files at %s: err = %v, want FileErrors %q", head, err, tt.want)
			}
		})
	}
}

func TestSourceInnerSymlinkToNonManifestIsIgnored(t *testing.T) {
	r := gittest.NewRemote(t)
	r.Write("deploy/a.yaml", "a: 1\n")
	r.Symlink("deploy/docs", "../README")
	r.CommitAndPush("c")
	src := newTestSource(t, r, "deploy")
	files, err := src.Files(context.Background(), fetch(t, src))
	if err != nil || len(files) != 1 {
		t.Fatalf("files = %v, %v; want just deploy/a.yaml", slices.Sorted(maps.Keys(files)), err)
	}
}

func TestSourceFetchErrors(t *testing.T) {
	r := gittest.NewRemote(t)
	r.Write("a.yaml", "a: 1\n")
	r.CommitAndPush("one")
	src, err := New(Config{URL: r.URL(), Branch: "nope", CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), `find branch "nope"`) {
		t.Fatalf("fetch of missing branch: err = %v", err)
	}
	good := newTestSource(t, r, "")
	fetch(t, good)
	r.Break()
	_, err = good.Fetch(context.Background())
	var fe FileErrors
	if err == nil || errors.As(err, &fe) {
		t.Fatalf("fetch from a removed remote: err = %v, want a fetch error", err)
	}
	if _, err := New(Config{URL: r.URL(), Path: "../x", CacheDir: t.TempDir()}); err == nil {
		t.Fatal("path ../x accepted")
	}
}

// transports serves one remote over each kind of URL a Source follows.
func transports(t *testing.T, r *gittest.Remote) map[string]Config {
	t.Helper()
	httpsURL, ca := gittest.ServeHTTP(t, r.URL(), testToken)
	key, keyFile := gittest.SSHKey(t, "")
	sshURL, hostLine := gittest.ServeSSH(t, r.URL(), key)
	return map[string]Config{
		"file":  {URL: r.URL()},
		"https": {URL: httpsURL, Auth: Auth{Token: testToken, CAFile: ca}},
		"ssh":   {URL: sshURL, Auth: Auth{SSHKeyFile: keyFile, KnownHostsFile: writeFile(t, "kh", hostLine+"\n")}},
	}
}

func TestSourceEnsureFetchesOlderCommits(t *testing.T) {
	r := gittest.NewRemote(t)
	var commits []string
	for i := range 4 {
		r.Write("deploy/web.yaml", fmt.Sprintf("v: %d\n", i))
		commits = append(commits, r.CommitAndPush(fmt.Sprint("commit ", i)))
	}
	for name, cfg := range transports(t, r) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cfg.Path, cfg.CacheDir = "deploy", filepath.Join(t.TempDir(), "cache")
			src, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := fetch(t, src); got != commits[3] {
				t.Fatalf("fetch = %s, want %s", got, commits[3])
			}
			if _, err := src.Files(ctx, commits[0]); err == nil {
				t.Fatal("a depth-1 fetch already holds the first commit; the test proves nothing")
			}
			if err := src.Ensure(ctx, commits[0]); err != nil {
				t.Fatalf("ensure first: %v", err)
			}
			for i, c := range commits {
				files, err := src.Files(ctx, c)
				if want := fmt.Sprintf("v: %d\n", i); err != nil || string(files["deploy/web.yaml"]) != want {
					t.Fatalf("files at commit %d = %q, %v; want %q", i, files["deploy/web.yaml"], err, want)
				}
			}
			if got := fetch(t, src); got != commits[3] {
				t.Fatalf("fetch after ensure = %s, want %s", got, commits[3])
			}
		})
	}
}

func TestSourceEnsureKeepsFollowingTheBranch(t *testing.T) {
	ctx := context.Background()
	r := gittest.NewRemote(t)
	r.Write("deploy/a.yaml", "a: 1\n")
	first := r.CommitAndPush("one")
	src := newTestSource(t, r, "deploy")
	// Before any Fetch, Ensure downloads the branch itself.
	if err := src.Ensure(ctx, first); err != nil {
		t.Fatalf("ensure before fetch: %v", err)
	}
	r.Write("deploy/a.yaml", "a: 2\n")
	second := r.CommitAndPush("two")
	r.Write("deploy/a.yaml", "a: 3\n")
	third := r.CommitAndPush("three")
	if got := fetch(t, src); got != third {
		t.Fatalf("fetch = %s, want %s", got, third)
	}
	if err := src.Ensure(ctx, second); err != nil {
		t.Fatalf("ensure second: %v", err)
	}
	// Everything is cached now: Ensure needs no remote.
	r.Break()
	for _, c := range []string{first, second, third} {
		if err := src.Ensure(ctx, c); err != nil {
			t.Fatalf("ensure %s with the remote gone: %v", c, err)
		}
	}
}

func TestSourceEnsureRejectsCommitsOffTheBranch(t *testing.T) {
	ctx := context.Background()
	r := gittest.NewRemote(t)
	r.Write("deploy/a.yaml", "a: 1\n")
	r.CommitAndPush("one")
	r.Git("checkout", "--quiet", "-b", "other")
	r.Write("deploy/a.yaml", "a: other\n")
	r.Git("add", "--all")
	r.Git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "--no-gpg-sign", "-m", "other")
	r.Git("push", "--quiet", "origin", "other")
	otherBranch := r.Head()
	src := newTestSource(t, r, "deploy")
	fetch(t, src)
	for _, c := range []string{otherBranch, strings.Repeat("ab", 20), "HEAD~1", "abc"} {
		err := src.Ensure(ctx, c)
		if !errors.Is(err, ErrNotOnBranch) {
			t.Fatalf("ensure %s: err = %v, want ErrNotOnBranch", c, err)
		}
	}
}
