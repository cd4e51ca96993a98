package gittest

import (
	"os"
	"os/exec"
)

// CommitAndPushOutput is CommitAndPush that also returns everything git push printed, where
// the output of the bare repository's hooks shows as "remote: " lines. The push must succeed.
func (r *Remote) CommitAndPushOutput(msg string) (commit, output string) {
	r.t.Helper()
	r.git(r.work, "add", "--all")
	r.git(r.work, "-c", "user.name=gittest", "-c", "user.email=gittest@example.invalid",
		"commit", "--quiet", "--allow-empty", "--no-gpg-sign", "-m", msg)
	cmd := exec.Command("git", "push", "--force", "origin", "HEAD:refs/heads/main")
	cmd.Dir = r.work
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git push: %v\n%s", err, out)
	}
	return r.Head(), string(out)
}
