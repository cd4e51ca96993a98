// Package gittest makes real git repositories with the git CLI in temp dirs: a bare remote and a
// working clone that tests write, commit and push to.
package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Remote is a bare repository with a working clone that pushes to it.
type Remote struct {
	t    testing.TB
	bare string
	work string
}

// NewRemote creates a bare repository with branch main and an empty working clone of it.
func NewRemote(t testing.TB) *Remote {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not found")
	}
	dir := t.TempDir()
	r := &Remote{t: t, bare: filepath.Join(dir, "remote.git"), work: filepath.Join(dir, "work")}
	r.git(dir, "init", "--quiet", "--bare", "-b", "main", r.bare)
	r.git(dir, "init", "--quiet", "-b", "main", r.work)
	r.git(r.work, "remote", "add", "origin", r.bare)
	return r
}

// URL is the path of the bare repository, usable as a clone URL.
func (r *Remote) URL() string { return r.bare }

// Dir is the working clone, for tests that read a working tree from disk.
func (r *Remote) Dir() string { return r.work }

// Write creates or replaces path (slash-separated, relative to the clone) with content.
func (r *Remote) Write(path, content string) {
	r.t.Helper()
	full := filepath.Join(r.work, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatalf("create dir of %s: %v", path, err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatalf("write %s: %v", path, err)
	}
}

// Symlink creates path as a symbolic link to target.
func (r *Remote) Symlink(path, target string) {
	r.t.Helper()
	full := filepath.Join(r.work, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatalf("create dir of %s: %v", path, err)
	}
	if err := os.Symlink(target, full); err != nil {
		r.t.Fatalf("symlink %s: %v", path, err)
	}
}

// Remove deletes path (a file or a directory) from the clone.
func (r *Remote) Remove(path string) {
	r.t.Helper()
	if err := os.RemoveAll(filepath.Join(r.work, filepath.FromSlash(path))); err != nil {
		r.t.Fatalf("remove %s: %v", path, err)
	}
}

// CommitAndPush commits every change in the clone (an empty commit if there is none), pushes
// it to main and returns the new commit hash.
func (r *Remote) CommitAndPush(msg string) string {
	r.t.Helper()
	r.git(r.work, "add", "--all")
	r.git(r.work, "-c", "user.name=gittest", "-c", "user.email=gittest@example.invalid",
		"commit", "--quiet", "--allow-empty", "--no-gpg-sign", "-m", msg)
	r.git(r.work, "push", "--quiet", "--force", "origin", "HEAD:refs/heads/main")
	return r.Head()
}

// Head returns the commit hash of the clone's HEAD.
func (r *Remote) Head() string {
	r.t.Helper()
	return r.git(r.work, "rev-parse", "HEAD")
}

// Git runs a git command in the clone and returns its trimmed output, for what the helpers
// above do not cover (for example `reset --hard HEAD~1` before a force-push).
func (r *Remote) Git(args ...string) string {
	r.t.Helper()
	return r.git(r.work, args...)
}

func (r *Remote) git(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// Break deletes the bare repository, so fetches from URL fail as with an unreachable remote.
func (r *Remote) Break() {
	r.t.Helper()
	if err := os.RemoveAll(r.bare); err != nil {
		r.t.Fatalf("remove bare repository: %v", err)
	}
}
