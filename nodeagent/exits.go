package nodeagent

import (
	"context"
	"time"

	retry "github.com/gitfleet/gitfleet/internal/backoff"
)

// watchExits kicks a pass for every exit rt tells of, so that a container is restarted as it
// exits, not at the next resync. When the stream breaks (the runtime restarted) it subscribes
// again with capped back-off, and kicks a pass each time it does: the pass lists the runtime
// afresh and adopts what runs, and so catches the exits missed meanwhile.
func (a *Agent) watchExits(ctx context.Context, rt EventRuntime) {
	bo := retry.New(100*time.Millisecond, 10*time.Second)
	for {
		subscribed := time.Now()
		exits := rt.Exits(ctx)
		a.kickExited()
		for key := range exits {
			a.log.Debug("container exited", "pod", key.String())
			a.kickExited()
		}
		if ctx.Err() != nil {
			return
		}
		if time.Since(subscribed) > streamHealthy {
			bo.Reset() // it served: a loss now is a new incident, not a failed retry
		}
		wait := bo.Next()
		a.log.Warn("runtime event stream lost; subscribing again", "wait", wait)
		retry.Sleep(ctx, wait)
	}
}

// streamHealthy is how long a subscription must have lasted for its loss to start the back-off
// over.
const streamHealthy = time.Minute

func (a *Agent) kickExited() { a.exited.Notify() }
