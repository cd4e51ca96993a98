package nodeagent

import (
	"errors"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

func TestRuntimeHealth(t *testing.T) {
	down := errors.New("dial unix /run/containerd/containerd.sock: connection refused")
	h := runtimeHealth{grace: 5 * time.Second, reported: api.ConditionTrue}
	steps := []struct {
		at          time.Duration
		err         error
		ready, rt   string
		wantChanged bool
	}{
		{0, nil, api.ConditionTrue, api.ConditionTrue, false},
		{time.Second, down, api.ConditionTrue, api.ConditionFalse, false}, // within the grace
		{5 * time.Second, down, api.ConditionTrue, api.ConditionFalse, false},
		{6 * time.Second, down, api.ConditionFalse, api.ConditionFalse, true},
		{7 * time.Second, down, api.ConditionFalse, api.ConditionFalse, false},
		{8 * time.Second, nil, api.ConditionTrue, api.ConditionTrue, true},
	}
	for i, s := range steps {
		conds, changed := h.observe(s.err, t0.Add(s.at))
		if conds[0].Type != api.NodeReady || conds[0].Status != s.ready || conds[1].Status != s.rt || changed != s.wantChanged {
			t.Fatalf("step %d: ready %s runtime %s changed %t; want %s %s %t", i, conds[0].Status, conds[1].Status,
				changed, s.ready, s.rt, s.wantChanged)
		}
		if s.ready == api.ConditionFalse && conds[0].Message == "" {
			t.Fatalf("step %d: NotReady without a message", i)
		}
	}
}
