package nodeagent

import (
	"errors"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

func TestRuntimeHealth(t *testing.T) {
	down := errors.New("dial unix /run/containerd/containerd.sock: connection refused")
	h := runtimeHealth{grace: 5 * time.Second}
	steps := []struct {
		at        time.Duration
		err       error
		ready, rt string
	}{
		{0, nil, api.ConditionTrue, api.ConditionTrue},
		{time.Second, down, api.ConditionTrue, api.ConditionFalse}, // within the grace
		{5 * time.Second, down, api.ConditionTrue, api.ConditionFalse},
		{6 * time.Second, down, api.ConditionFalse, api.ConditionFalse},
		{7 * time.Second, down, api.ConditionFalse, api.ConditionFalse},
		{8 * time.Second, nil, api.ConditionTrue, api.ConditionTrue},
	}
	for i, s := range steps {
		conds := h.observe(s.err, t0.Add(s.at))
		if conds[0].Type != api.NodeReady || conds[0].Status != s.ready || conds[1].Status != s.rt {
			t.Fatalf("step %d: ready %s runtime %s; want %s %s", i, conds[0].Status, conds[1].Status, s.ready, s.rt)
		}
		if s.ready == api.ConditionFalse && conds[0].Message == "" {
			t.Fatalf("step %d: NotReady without a message", i)
		}
	}
}
