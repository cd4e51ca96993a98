package containerd

import (
	"context"
	"fmt"

	eventstypes "github.com/containerd/containerd/api/events"
	"github.com/containerd/containerd/v2/core/events"
	"github.com/containerd/typeurl/v2"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
)

var _ nodeagent.EventRuntime = (*Runtime)(nil)

// Exits implements nodeagent.EventRuntime with containerd's event stream: the /tasks/exit
// events of the containers' main processes (an exec'd process's exit, a probe's, is not a
// container's) and the /tasks/oom events of the runtime's namespace, each sent as the key of
// the Pod of this node whose container it names; other containers' events are dropped.
func (c *Runtime) Exits(ctx context.Context) <-chan api.PodKey {
	ctx = c.ns(ctx)
	ns := c.cfg.Namespace
	envs, errs := c.client.Subscribe(ctx,
		fmt.Sprintf(`namespace==%q,topic=="/tasks/exit"`, ns),
		fmt.Sprintf(`namespace==%q,topic=="/tasks/oom"`, ns))
	out := make(chan api.PodKey, 64)
	go func() {
		defer close(out)
		for {
			select {
			case env := <-envs:
				key, ok := c.podOfEvent(ctx, env)
				if !ok {
					continue
				}
				select {
				case out <- key:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if ctx.Err() == nil {
					c.log.Warn("containerd event stream ended", "err", err)
				}
				return
			}
		}
	}()
	return out
}

// podOfEvent returns the Pod of the container an exit or OOM event names, if it is one of
// this node's.
func (c *Runtime) podOfEvent(ctx context.Context, env *events.Envelope) (api.PodKey, bool) {
	if env == nil || env.Event == nil {
		return api.PodKey{}, false
	}
	ev, err := typeurl.UnmarshalAny(env.Event)
	if err != nil {
		c.log.Debug("undecodable containerd event", "topic", env.Topic, "err", err)
		return api.PodKey{}, false
	}
	var id string
	switch e := ev.(type) {
	case *eventstypes.TaskExit:
		if e.ID != e.ContainerID {
			return api.PodKey{}, false // an exec'd process
		}
		id = e.ContainerID
	case *eventstypes.TaskOOM:
		id = e.ContainerID
	default:
		return api.PodKey{}, false
	}
	info, err := c.client.ContainerService().Get(ctx, id)
	if err != nil || !c.owns(info.Labels) {
		return api.PodKey{}, false
	}
	return keyOfLabels(info.Labels), true
}
