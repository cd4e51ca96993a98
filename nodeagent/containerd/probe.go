package containerd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
)

var _ nodeagent.ProbeRuntime = (*Runtime)(nil)

// Exec implements nodeagent.ProbeRuntime: cmd runs in the container's task as its main process
// does (user, environment, working directory), with no input or output.
func (c *Runtime) Exec(ctx context.Context, key api.PodKey, name string, cmd []string) (int, error) {
	ctx = c.ns(ctx)
	o, err := c.loadOwned(ctx, key, name)
	if err != nil {
		return 0, err
	}
	task, err := o.ctr.Task(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("exec in %s/%s: %w", key, name, err)
	}
	spec, err := o.ctr.Spec(ctx)
	if err != nil {
		return 0, fmt.Errorf("exec in %s/%s: read spec: %w", key, name, err)
	}
	if spec.Process == nil {
		return 0, fmt.Errorf("exec in %s/%s: the spec has no process", key, name)
	}
	proc := *spec.Process
	proc.Args, proc.Terminal = cmd, false
	p, err := task.Exec(ctx, execID(), &proc, cio.NullIO)
	if err != nil {
		return 0, fmt.Errorf("exec in %s/%s: %w", key, name, err)
	}
	// a command that outlives ctx (its probe's timeout) is killed, not left running
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), taskDeleteTimeout)
		defer cancel()
		p.Delete(dctx, client.WithProcessKill)
	}()
	done, err := p.Wait(ctx)
	if err != nil {
		return 0, fmt.Errorf("exec in %s/%s: wait: %w", key, name, err)
	}
	if err := p.Start(ctx); err != nil {
		return 0, fmt.Errorf("exec in %s/%s: start: %w", key, name, err)
	}
	select {
	case st := <-done:
		code, _, err := st.Result()
		return int(code), err
	case <-ctx.Done():
		return 0, fmt.Errorf("exec in %s/%s: %w", key, name, ctx.Err())
	}
}

// execID names one exec'd process: unique among the task's, since probes of one container
// may run at once.
func execID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "probe-" + hex.EncodeToString(b)
}

// KillContainer implements nodeagent.ProbeRuntime.
func (c *Runtime) KillContainer(ctx context.Context, key api.PodKey, name string) error {
	ctx = c.ns(ctx)
	o, err := c.loadOwned(ctx, key, name)
	if err != nil {
		return err
	}
	task, err := o.ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kill container %s/%s: %w", key, name, err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return fmt.Errorf("kill container %s/%s: %w", key, name, err)
	}
	if st.Status != client.Running {
		return nil
	}
	if err := c.killTask(ctx, o, task); err != nil {
		return fmt.Errorf("kill container %s/%s: %w", key, name, err)
	}
	c.log.Info("container killed", "pod", key, "container", name)
	return nil
}

// killTask runs the preStop hook, sends SIGTERM and, when the task has not exited by the end
// of the grace, SIGKILL; it returns once the task exited, and leaves it to be restarted or
// deleted. The hook's run counts in the grace.
func (c *Runtime) killTask(ctx context.Context, o owned, task client.Task) error {
	exitCh, err := task.Wait(ctx)
	if err != nil {
		return fmt.Errorf("wait task: %w", err)
	}
	// closed once the task exits, for the hook and the grace to both see it
	exited := make(chan struct{})
	go func() {
		<-exitCh
		close(exited)
	}()
	graceCtx, cancel := context.WithTimeout(ctx, c.grace(o.labels))
	defer cancel()
	if cmd := preStopCommand(o.labels); cmd != nil {
		if err := c.runPreStop(graceCtx, o, task, cmd, exited); err != nil {
			c.log.Warn("preStop hook failed", "container", o.ctr.ID(), "err", err)
		}
	}
	// read once for both signals; unread, they go through containerd
	spec, _ := o.ctr.Spec(ctx)
	if err := signalTask(ctx, spec, task, syscall.SIGTERM); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("send SIGTERM: %w", err)
	}
	select {
	case <-exited:
		return nil
	case <-graceCtx.Done():
	}
	if err := signalTask(ctx, spec, task, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("send SIGKILL: %w", err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(taskDeleteTimeout):
		return fmt.Errorf("task did not exit %s after SIGKILL", taskDeleteTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}
