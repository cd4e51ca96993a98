package containerd

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// TestAgentExitEvents runs the agent with a resync of an hour, so that only containerd's exit
// events and the plan's own back-off can make it restart a container: one that exits after a
// moment must be restarted again and again, and its status say so.
func TestAgentExitEvents(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	st, rt := agentTestEnv(t)
	ctx := t.Context()
	crash := commandPod("crash", api.RestartAlways, "sleep 0.5; exit 3")
	crash.Spec.NodeName = "node-a"
	if err := st.CreatePod(ctx, crash); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := nodeagent.NewAgent(st, rt, log, nodeagent.AgentOptions{Node: nodeagent.NodeConfig{Name: "node-a"}, Resync: time.Hour})
	actx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(actx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	// back-offs of 0, 1s and 2s: three restarts need the exits and the requeue, not the resync
	waitStatus(t, st, crash, func(s api.PodStatus) bool {
		return s.Restarts >= 3 && s.ContainerStatuses[0].LastExitCode == 3
	})
}
