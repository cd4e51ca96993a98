package gittest_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/gittest"
)

func TestCommitAndPushReachesTheBareRepo(t *testing.T) {
	r := gittest.NewRemote(t)
	r.Write("deploy/web.yaml", "kind: Deployment\n")
	first := r.CommitAndPush("add web")
	if len(first) != 40 {
		t.Fatalf("commit hash %q, want 40 hex digits", first)
	}
	r.Remove("deploy/web.yaml")
	second := r.CommitAndPush("remove web")
	if second == first {
		t.Fatal("second commit has the first commit's hash")
	}
	out, err := exec.Command("git", "--git-dir", r.URL(), "rev-parse", "refs/heads/main").Output()
	if err != nil {
		t.Fatalf("rev-parse in bare repo: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != second {
		t.Fatalf("bare main = %s, want %s", got, second)
	}
	tree, err := exec.Command("git", "--git-dir", r.URL(), "ls-tree", "-r", "--name-only", first).Output()
	if err != nil || strings.TrimSpace(string(tree)) != "deploy/web.yaml" {
		t.Fatalf("tree of first commit = %q, %v", tree, err)
	}
}
