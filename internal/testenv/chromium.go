package testenv

import (
	"os/exec"
	"testing"
)

// RequireChromium returns the path of Debian's headless-capable chromium, for tests that drive
// a real browser. It skips t (fails it when GITFLEET_REQUIRE_CONTAINERD=1, as CI sets it) when
// there is none: `apt-get install chromium`, which scripts/test.sh does.
func RequireChromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(t, "needs chromium in PATH (apt-get install chromium)")
	return ""
}
