package containerd

import (
	"os"
	"testing"

	"github.com/sasha-s/go-deadlock"
)

// TestMain turns off go-deadlock, which go-cni's locks become in race builds (only there: the
// binary gitfleet ships uses sync.RWMutex). With 50 Pods set up at once on their own workers it
// reported two goroutines' read locks of go-cni's config as one goroutine locking twice
// ("Recursive locking: current goroutine 0", both stacks in go-cni's Setup) and exited the
// test binary.
func TestMain(m *testing.M) {
	deadlock.Opts.Disable = true
	os.Exit(m.Run())
}
