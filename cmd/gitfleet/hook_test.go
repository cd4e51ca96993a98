package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/gittest"
)

func TestHookInstall(t *testing.T) {
	remote := gittest.NewRemote(t)
	hook := filepath.Join(remote.URL(), "hooks", "post-receive")
	out, stderr, err := runCLI("hook", "install", remote.URL(), "--data-dir", "/srv/my gitfleet", "--branch", "prod", "--timeout", "30s")
	if err != nil {
		t.Fatalf("install: %v\n%s", err, stderr)
	}
	if want := "hook: installed " + hook + ": a push to prod"; !strings.HasPrefix(out, want) {
		t.Fatalf("stdout = %q, want %q...", out, want)
	}
	fi, err := os.Stat(hook)
	if err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("hook %v, %v; want an executable", fi, err)
	}
	script := readFile(t, hook)
	for _, want := range []string{
		"#!/bin/sh\n",
		`[ "$ref" = 'refs/heads/prod' ] || continue`,
		`"$gitfleet" sync --wait --commit "$new" --timeout '30s' --data-dir '/srv/my gitfleet' 2>&1`,
		`echo "gitfleet: not reachable: $gitfleet is missing"`,
		"exit 0\n",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("hook lacks %q:\n%s", want, script)
		}
	}
	// Installing again replaces gitfleet's own hook, with the etcd endpoints this time.
	if _, stderr, err := runCLI("hook", "install", "--etcd-endpoints", "http://10.0.0.1:2379", remote.URL()); err != nil {
		t.Fatalf("reinstall: %v\n%s", err, stderr)
	}
	// Without --timeout the hook waits as sync --wait does by default: for the rollouts.
	if script := readFile(t, hook); !strings.Contains(script, `"$gitfleet" sync --wait --commit "$new" --etcd-endpoints 'http://10.0.0.1:2379' 2>&1`) {
		t.Fatalf("reinstalled hook:\n%s", script)
	}
}

func TestHookInstallRefuses(t *testing.T) {
	remote := gittest.NewRemote(t)
	tests := []struct {
		name, repo, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "nope.git"), "no repository at "},
		{"working tree", remote.Dir(), "is a working tree, not a bare repository"},
		{"git dir of a working tree", filepath.Join(remote.Dir(), ".git"), "is not a bare repository (core.bare is not true)"},
		{"not git", t.TempDir(), "is not a bare git repository (no HEAD)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI("hook", "install", tt.repo)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestHookInstallKeepsForeignHook(t *testing.T) {
	remote := gittest.NewRemote(t)
	hook := filepath.Join(remote.URL(), "hooks", "post-receive")
	const mine = "#!/bin/sh\necho mine\n"
	if err := os.WriteFile(hook, []byte(mine), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI("hook", "install", remote.URL())
	if err == nil || !strings.Contains(err.Error(), "was not installed by gitfleet: pass --force") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if got := readFile(t, hook); got != mine {
		t.Fatalf("foreign hook changed:\n%s", got)
	}
	if _, stderr, err := runCLI("hook", "install", remote.URL(), "--force"); err != nil {
		t.Fatalf("install --force: %v\n%s", err, stderr)
	}
	if got := readFile(t, hook+".orig"); got != mine {
		t.Fatalf("post-receive.orig = %q, want the old hook", got)
	}
	if got := readFile(t, hook); !strings.Contains(got, hookMarker) {
		t.Fatalf("hook not replaced:\n%s", got)
	}
}

func TestHookUsage(t *testing.T) {
	for _, args := range [][]string{{"hook"}, {"hook", "remove"}, {"hook", "install"}, {"hook", "install", "a", "b"}} {
		if _, _, err := runCLI(args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
