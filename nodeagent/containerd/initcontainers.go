package containerd

import (
	"context"
	"fmt"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// runInitContainers brings the Pod's init containers, in order, to where its app containers
// may start: each regular one exited 0 (run, and waited for, unless it already did), each
// sidecar running. An init container that failed runs again, unless the Pod's restart policy is
// Never, which fails the Pod's start for good. It blocks for as long as the init containers run,
// bounded by ctx. Created containers are added to have.
func (c *Runtime) runInitContainers(ctx context.Context, pod *api.Pod, have map[string]owned,
	imgs map[string]client.Image, net podNet, cms nodeagent.ConfigMaps) error {
	for _, spec := range pod.Spec.InitContainers {
		o, ok := have[spec.Name]
		if !ok {
			var err error
			if o, err = c.createContainer(ctx, pod, spec, imgs[spec.Image], net, cms); err != nil {
				return err
			}
			have[spec.Name] = o
		}
		code, exited, running, err := c.initState(ctx, o)
		switch {
		case err != nil:
			return err
		case running && spec.IsSidecar(), exited && code == 0:
			continue
		case exited && !spec.IsSidecar() && pod.Spec.Restart() == api.RestartNever:
			return fmt.Errorf("init container %s exited with code %d, and the pod's restartPolicy is Never", spec.Name, code)
		}
		if err := c.RestartContainer(ctx, api.PodKeyOf(pod), spec.Name); err != nil {
			return err
		}
		if spec.IsSidecar() {
			continue
		}
		code, err = c.waitExit(ctx, o)
		if err != nil {
			return fmt.Errorf("init container %s: %w", spec.Name, err)
		}
		if code != 0 {
			return fmt.Errorf("init container %s exited with code %d", spec.Name, code)
		}
	}
	return nil
}

// initState says whether the container's task exited, with which code, or runs.
func (c *Runtime) initState(ctx context.Context, o owned) (code int32, exited, running bool, err error) {
	task, err := o.ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return 0, false, false, nil
	}
	if err != nil {
		return 0, false, false, fmt.Errorf("load task of %s: %w", o.ctr.ID(), err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return 0, false, false, fmt.Errorf("read task status of %s: %w", o.ctr.ID(), err)
	}
	return int32(st.ExitStatus), st.Status == client.Stopped, st.Status == client.Running, nil
}

// waitExit waits for the container's task to exit and returns its exit code.
func (c *Runtime) waitExit(ctx context.Context, o owned) (int32, error) {
	task, err := o.ctr.Task(ctx, nil)
	if err != nil {
		return -1, fmt.Errorf("load task of %s: %w", o.ctr.ID(), err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return -1, fmt.Errorf("wait for %s: %w", o.ctr.ID(), err)
	}
	select {
	case st := <-exited:
		return int32(st.ExitCode()), st.Error()
	case <-ctx.Done():
		return -1, fmt.Errorf("wait for %s: %w", o.ctr.ID(), ctx.Err())
	}
}
