package testenv_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/testenv"
)

// TestDaemon starts private daemons and reports how long each took to answer: the figure that
// makes one daemon per host of a multi-host test affordable.
func TestDaemon(t *testing.T) {
	testenv.RequireDaemon(t)
	for i := range 3 {
		d := testenv.StartDaemon(t, t.TempDir(), exec.Command)
		t.Logf("daemon %d answered in %s", i, d.Started.Round(time.Millisecond))
		c, err := d.Client()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err := testenv.RunningTasks(ctx, c)
		cancel()
		c.Close()
		if err != nil || n != 0 {
			t.Fatalf("running tasks = %d, %v; want 0", n, err)
		}
	}
}
