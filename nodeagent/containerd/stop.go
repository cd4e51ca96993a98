package containerd

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/gitfleet/gitfleet/api"
)

// Labels of how a container stops, recorded when it is created: the Pod may be gone from etcd
// by the time it stops, as the kubelet finds its containers' grace in their own annotations.
const (
	labelGraceSeconds = "gitfleet.io/grace-seconds"
	labelPreStop      = "gitfleet.io/pre-stop"
)

// stopLabels records the Pod's grace period and the container's preStop command.
func stopLabels(pod *api.Pod, spec api.Container) map[string]string {
	l := map[string]string{labelGraceSeconds: strconv.FormatInt(pod.Spec.TerminationGrace(), 10)}
	if lc := spec.Lifecycle; lc != nil && lc.PreStop != nil && lc.PreStop.Exec != nil {
		b, err := json.Marshal(lc.PreStop.Exec.Command)
		if err == nil {
			l[labelPreStop] = string(b)
		}
	}
	return l
}

// grace is the time a container's task has to stop: its Pod's grace period, the default for
// a container made before it was recorded, and at most Config.StopTimeout when that is set.
func (c *Runtime) grace(labels map[string]string) time.Duration {
	g := time.Duration(api.DefaultTerminationGracePeriodSeconds) * time.Second
	if n, err := strconv.ParseInt(labels[labelGraceSeconds], 10, 64); err == nil && n >= 0 {
		g = time.Duration(n) * time.Second
	}
	if c.cfg.StopTimeout > 0 {
		g = min(g, c.cfg.StopTimeout)
	}
	return g
}

// preStopCommand reads back the command stopLabels recorded; nil if none.
func preStopCommand(labels map[string]string) []string {
	var cmd []string
	if json.Unmarshal([]byte(labels[labelPreStop]), &cmd) != nil {
		return nil
	}
	return cmd
}

// stopTask stops the container's task as killTask does and deletes it, killing it first if it
// still runs. Finding no task, it deletes a stale one (which lists as none) so that its shim
// does not outlive the container.
func (c *Runtime) stopTask(ctx context.Context, o owned) error {
	task, err := o.ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return c.dropStaleTask(ctx, o.ctr.ID())
	}
	if err != nil {
		return fmt.Errorf("stop container %s: %w", o.ctr.ID(), err)
	}
	del := deleteExitedTask
	if err := c.killTask(ctx, o, task); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stop container %s: %w", o.ctr.ID(), err)
		}
		c.log.Warn("stop failed; deleting the task", "container", o.ctr.ID(), "err", err)
		del = deleteTask
	}
	if err := del(ctx, task); err != nil {
		return fmt.Errorf("delete task of %s: %w", o.ctr.ID(), err)
	}
	return nil
}

// runPreStop runs cmd in the container's task, as its main process runs (user, environment),
// until it ends, the task exits or ctx (the grace) ends.
func (c *Runtime) runPreStop(ctx context.Context, o owned, task client.Task, cmd []string, exited <-chan struct{}) error {
	spec, err := o.ctr.Spec(ctx)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	if spec.Process == nil {
		return fmt.Errorf("spec of %s has no process", o.ctr.ID())
	}
	proc := *spec.Process
	proc.Args, proc.Terminal = cmd, false
	p, err := task.Exec(ctx, "pre-stop", &proc, cio.NullIO)
	if err != nil {
		return fmt.Errorf("exec preStop: %w", err)
	}
	defer p.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
	done, err := p.Wait(ctx)
	if err != nil {
		return fmt.Errorf("wait preStop: %w", err)
	}
	if err := p.Start(ctx); err != nil {
		return fmt.Errorf("start preStop: %w", err)
	}
	select {
	case st := <-done:
		if code := st.ExitCode(); code != 0 {
			return fmt.Errorf("preStop exited with code %d", code)
		}
	case <-exited:
	case <-ctx.Done():
		return fmt.Errorf("preStop did not end within the grace period: %w", ctx.Err())
	}
	return nil
}
