package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// hookMarker is in every post-receive hook gitfleet writes, so that it replaces its own hook
// and refuses to replace anyone else's.
const hookMarker = "# installed by 'gitfleet hook install'"

// hookFlags configure `gitfleet hook install`.
type hookFlags struct {
	conn    connFlags
	timeout time.Duration
	branch  string
	force   bool
}

func runHook(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "install" {
		return errors.New("hook: usage: gitfleet hook install REPO.git [--data-dir D | --etcd-endpoints E] [--branch main] [--timeout D] [--force]")
	}
	fs := flag.NewFlagSet("hook install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f hookFlags
	f.conn.register(fs)
	fs.DurationVar(&f.timeout, "timeout", 0, "how long a push waits for the sync and health (0: as 'gitfleet sync --wait' without --timeout: as long as the rollouts progress, up to each Deployment's progress deadline plus 30s since it last moved)")
	fs.StringVar(&f.branch, "branch", "main", "the branch whose pushes sync")
	fs.BoolVar(&f.force, "force", false, "replace a post-receive hook that gitfleet did not install (kept as post-receive.orig)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("hook install: want one bare repository path")
	}
	path, err := installHook(pos[0], f)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hook: installed %s: a push to %s runs 'gitfleet sync --wait' and shows its result\n", path, f.branch)
	return nil
}

// parseInterspersed parses flags wherever they are among the positional arguments, which it
// returns in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

// installHook writes the post-receive hook into the bare repository repo; it returns its path.
func installHook(repo string, f hookFlags) (string, error) {
	repo, err := filepath.Abs(repo)
	if err != nil {
		return "", fmt.Errorf("hook install: %w", err)
	}
	if err := checkBare(repo); err != nil {
		return "", fmt.Errorf("hook install: %w", err)
	}
	script, err := hookScript(f)
	if err != nil {
		return "", fmt.Errorf("hook install: %w", err)
	}
	dir := filepath.Join(repo, "hooks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("hook install: %w", err)
	}
	path := filepath.Join(dir, "post-receive")
	if err := keepForeignHook(path, f.force); err != nil {
		return "", fmt.Errorf("hook install: %w", err)
	}
	if err := writeExecutable(path, []byte(script)); err != nil {
		return "", fmt.Errorf("hook install: %w", err)
	}
	return path, nil
}

// checkBare fails unless repo is a bare git repository.
func checkBare(repo string) error {
	if _, err := os.Stat(repo); err != nil {
		return fmt.Errorf("no repository at %s: %w", repo, err)
	}
	if _, err := os.Stat(filepath.Join(repo, ".git")); err == nil {
		return fmt.Errorf("%s is a working tree, not a bare repository: install the hook into the bare repository you push to", repo)
	}
	for _, name := range []string{"HEAD", "objects", "refs", "config"} {
		if _, err := os.Stat(filepath.Join(repo, name)); err != nil {
			return fmt.Errorf("%s is not a bare git repository (no %s)", repo, name)
		}
	}
	cfg, err := os.ReadFile(filepath.Join(repo, "config"))
	if err != nil {
		return fmt.Errorf("read git config: %w", err)
	}
	if !isBareConfig(cfg) {
		return fmt.Errorf("%s is not a bare repository (core.bare is not true): install the hook into the bare repository you push to", repo)
	}
	return nil
}

// isBareConfig reports whether a git config file sets bare = true.
func isBareConfig(cfg []byte) bool {
	for _, line := range strings.Split(string(cfg), "\n") {
		k, v, ok := strings.Cut(strings.ToLower(line), "=")
		if ok && strings.TrimSpace(k) == "bare" && strings.TrimSpace(v) == "true" {
			return true
		}
	}
	return false
}

// keepForeignHook fails when path is a hook gitfleet did not write, unless force, in which
// case it moves that hook to path.orig.
func keepForeignHook(path string, force bool) error {
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case bytes.Contains(old, []byte(hookMarker)):
		return nil
	case !force:
		return fmt.Errorf("%s exists and was not installed by gitfleet: pass --force to replace it (it is kept as post-receive.orig)", path)
	}
	if err := os.Rename(path, path+".orig"); err != nil {
		return fmt.Errorf("keep the old hook: %w", err)
	}
	return nil
}

// hookScript renders the post-receive hook: for a push to the branch it runs this binary's
// `sync --wait` for the pushed commit. It always exits 0: the push has happened already.
func hookScript(f hookFlags) (string, error) {
	bin, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the gitfleet binary: %w", err)
	}
	if bin, err = filepath.EvalSymlinks(bin); err != nil {
		return "", fmt.Errorf("find the gitfleet binary: %w", err)
	}
	conn := "--etcd-endpoints " + shellQuote(f.conn.endpoints)
	if f.conn.endpoints == "" {
		dataDir, err := filepath.Abs(f.conn.dataDir)
		if err != nil {
			return "", err
		}
		conn = "--data-dir " + shellQuote(dataDir)
	}
	if f.timeout > 0 {
		conn = "--timeout " + shellQuote(f.timeout.String()) + " " + conn
	}
	var b strings.Builder
	fmt.Fprintf(&b, `#!/bin/sh
%s; reinstalling replaces it.
# For a push to %s it asks gitfleet to sync the pushed commit and waits until it is applied and
# healthy, showing its rollouts, or rolled back; the pusher sees the result as "remote:" lines.
# It always exits 0.
gitfleet=%s
while read -r old new ref; do
	[ "$ref" = %s ] || continue
	[ "$new" = 0000000000000000000000000000000000000000 ] && continue
	if [ ! -x "$gitfleet" ]; then
		echo "gitfleet: not reachable: $gitfleet is missing"
		continue
	fi
	"$gitfleet" sync --wait --commit "$new" %s 2>&1
done
exit 0
`, hookMarker, f.branch, shellQuote(bin), shellQuote("refs/heads/"+f.branch), conn)
	return b.String(), nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeExecutable replaces path with an executable file holding b.
func writeExecutable(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // whatever the umask
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
