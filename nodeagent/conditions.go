package nodeagent

import (
	"context"
	"maps"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

// runtimeHealth tracks whether the container runtime answers, so that a node whose runtime is
// down reports itself NotReady (RuntimeReady False) once it has been down for the node's grace,
// and Ready again as soon as it answers. It holds no clock: callers pass now.
type runtimeHealth struct {
	grace time.Duration
	// failingSince is when the runtime last started failing; zero while it answers.
	failingSince time.Time
	lastErr      string
}

// observe records one answer (err nil) or failure of the runtime at now, and returns the node's
// Ready and RuntimeReady conditions.
func (h *runtimeHealth) observe(err error, now time.Time) []api.NodeCondition {
	switch {
	case err == nil:
		h.failingSince, h.lastErr = time.Time{}, ""
	case h.failingSince.IsZero():
		h.failingSince, h.lastErr = now, err.Error()
	default:
		h.lastErr = err.Error()
	}
	ready := api.ConditionTrue
	runtime := api.NodeCondition{Type: api.NodeRuntimeReady, Status: api.ConditionTrue, Reason: api.ReasonAgentReported}
	if !h.failingSince.IsZero() {
		runtime = api.NodeCondition{Type: api.NodeRuntimeReady, Status: api.ConditionFalse, Reason: "RuntimeDown",
			Message: "the container runtime does not answer: " + h.lastErr}
		if now.Sub(h.failingSince) >= h.grace {
			ready = api.ConditionFalse
		}
	}
	at := now.UTC().Format(time.RFC3339)
	runtime.LastTransitionTime = at
	readyCond := api.NodeCondition{Type: api.NodeReady, Status: ready, Reason: api.ReasonAgentReported, LastTransitionTime: at}
	if ready != api.ConditionTrue {
		readyCond.Reason, readyCond.Message = "RuntimeDown", runtime.Message
	}
	return []api.NodeCondition{readyCond, runtime}
}

// reportConditions writes the node's record when the status of one of its conditions changed:
// Ready and RuntimeReady from the runtime's answer (err), and the pressure conditions. A
// failed write is logged and tried again at the next pass.
func (a *Agent) reportConditions(ctx context.Context, err error) {
	conds := a.runtime.observe(err, a.opts.Now())
	if a.opts.Node.DataDir != "" {
		conds = append(conds, pressureConditions("/proc/meminfo", a.opts.Node.DataDir)...)
	}
	statuses := make(map[string]string, len(conds))
	for _, c := range conds {
		statuses[c.Type] = c.Status
	}
	if maps.Equal(statuses, a.reportedConditions) {
		return
	}
	if perr := a.st.PutNode(ctx, nodeObject(a.opts.Node, a.opts.Now(), conds)); perr != nil {
		if ctx.Err() == nil {
			a.log.Warn("report node conditions", "err", perr)
		}
		return
	}
	if conds[0].Status != api.ConditionTrue {
		a.log.Warn("node reported NotReady", "reason", conds[0].Message)
	}
	a.reportedConditions = statuses
}
