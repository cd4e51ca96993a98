package nodeagent

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"

	"github.com/gitfleet/gitfleet/api"
)

// exitsRuntime is a fakeRuntime that streams exits: each subscription's channel is handed to
// the test, which sends on it and closes it as containerd would.
type exitsRuntime struct {
	*fakeRuntime
	subs chan chan api.PodKey
}

func (r *exitsRuntime) Exits(context.Context) <-chan api.PodKey {
	ch := make(chan api.PodKey)
	r.subs <- ch
	return ch
}

var _ EventRuntime = (*exitsRuntime)(nil)

// TestWatchExits checks that an agent on a runtime that streams exits resyncs only as a safety
// net, kicks a pass when it subscribes and on each exit, and subscribes again, kicking a pass
// to re-list, when the stream breaks.
func TestWatchExits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &exitsRuntime{fakeRuntime: newFakeRuntime(t0), subs: make(chan chan api.PodKey)}
		a := NewAgent(&fakeAgentStore{statuses: map[string]api.PodStatus{}}, rt, slog.New(slog.DiscardHandler),
			AgentOptions{Node: NodeConfig{Name: "n1"}})
		if a.opts.Resync != DefaultEventResync {
			t.Fatalf("resync %s, want %s", a.opts.Resync, DefaultEventResync)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			a.watchExits(ctx, rt)
		}()
		first := <-rt.subs
		<-a.exited // subscribed
		first <- api.PodKey{Namespace: "default", Name: "web"}
		<-a.exited // an exit
		close(first)
		second := <-rt.subs // after the back-off
		<-a.exited          // re-list
		cancel()
		close(second)
		<-done
	})
}
