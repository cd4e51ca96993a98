package containerd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
)

// List implements nodeagent.Runtime. It never attaches to a task's IO: output goes to log files.
func (c *Runtime) List(ctx context.Context) ([]nodeagent.Sandbox, error) {
	ctx = c.ns(ctx)
	ctrs, err := c.client.Containers(ctx, c.ownedFilter(nil))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	type group struct {
		key  api.PodKey
		hash string
	}
	byGroup := map[group]*nodeagent.Sandbox{}
	listed := c.listTasks(ctx)
	for _, ctr := range ctrs {
		labels := listedLabels(ctx, ctr)
		if !c.owns(labels) {
			continue
		}
		g := group{keyOfLabels(labels), labels[labelSpecHash]}
		sb := byGroup[g]
		if sb == nil {
			sb = c.sandboxOfLabels(labels)
			byGroup[g] = sb
		}
		st, err := c.observe(ctx, ctr, labels, listed[ctr.ID()])
		if err != nil {
			return nil, err
		}
		sb.Containers = append(sb.Containers, st)
	}
	out := make([]nodeagent.Sandbox, 0, len(byGroup))
	for _, sb := range byGroup {
		slices.SortFunc(sb.Containers, func(a, b nodeagent.ContainerState) int { return strings.Compare(a.Name, b.Name) })
		out = append(out, *sb)
	}
	out = append(out, c.orphanNetworks(out)...)
	slices.SortFunc(out, compareSandboxes)
	return out, nil
}

func compareSandboxes(a, b nodeagent.Sandbox) int {
	if n := strings.Compare(a.Key.String(), b.Key.String()); n != 0 {
		return n
	}
	return strings.Compare(a.SpecHash, b.SpecHash)
}

func (c *Runtime) sandboxOfLabels(labels map[string]string) *nodeagent.Sandbox {
	net := netOfLabels(labels)
	sb := &nodeagent.Sandbox{
		Key:         keyOfLabels(labels),
		SpecHash:    labels[labelSpecHash],
		PodIP:       net.IP,
		HostNetwork: net.Host,
	}
	if !net.Host {
		sb.NetworkLost = !podnet.Mounted(net.NetNSPath)
	}
	return sb
}

// listTasks reads every task of the namespace in one call, by container ID. Reading each
// container's task on its own costs two calls through containerd to the shim, one container
// after another: 12–48 s for 100 containers while 60–100 starts and stops ran (BenchmarkRollout),
// against one call here. A task the list leaves out (containerd skips one whose shim does not
// answer) is read on its own by observe; a failed list falls back to that for all.
func (c *Runtime) listTasks(ctx context.Context) map[string]*tasktypes.Process {
	resp, err := c.client.TaskService().List(ctx, &tasksapi.ListTasksRequest{})
	if err != nil {
		c.log.Debug("cannot list tasks; reading each container's", "err", err)
		return nil
	}
	out := make(map[string]*tasktypes.Process, len(resp.Tasks))
	for _, t := range resp.Tasks {
		out[t.ID] = t
	}
	return out
}

// observe reads a container's task state without attaching to its IO, from listed when the
// task list had it.
func (c *Runtime) observe(ctx context.Context, ctr client.Container, labels map[string]string, listed *tasktypes.Process) (nodeagent.ContainerState, error) {
	st := nodeagent.ContainerState{
		ID:           ctr.ID(),
		Name:         labels[labelContainer],
		RestartCount: restartCount(labels),
		// the attempts before the latest failed: they back a failing start off
		FailedStarts: max(startAttempts(labels)-1, 0),
		StartedAt:    startedAt(labels),
		ImageID:      labels[labelImageID],
		State:        nodeagent.StateCreated,
	}
	if info, err := ctr.Info(ctx, client.WithoutRefreshedMetadata); err == nil {
		st.Image = info.Image
	}
	status, found, err := c.taskStatus(ctx, ctr, listed)
	if err != nil || !found {
		return st, err
	}
	switch status.Status {
	case client.Created:
		st.State = nodeagent.StateCreated
	case client.Running:
		st.State = nodeagent.StateRunning
	case client.Stopped:
		st.State, st.ExitCode, st.FinishedAt = nodeagent.StateExited, int32(status.ExitStatus), status.ExitTime
		if st.ExitCode == exitSIGKILL && oomKilled(ctx, ctr) {
			st.Reason = api.ReasonOOMKilled
		}
		st.Message = c.terminationMessage(keyOfLabels(labels), st.Name)
	default:
		st.State = nodeagent.StateUnknown
	}
	return st, nil
}

// taskStatus is the status of ctr's task: from listed when given, else read through the task;
// found is false when the container has no task.
func (c *Runtime) taskStatus(ctx context.Context, ctr client.Container, listed *tasktypes.Process) (client.Status, bool, error) {
	if listed != nil {
		return processStatus(listed), true, nil
	}
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return client.Status{}, false, nil
	}
	if err != nil {
		return client.Status{}, false, fmt.Errorf("load task of %s: %w", ctr.ID(), err)
	}
	status, err := task.Status(ctx)
	if errdefs.IsNotFound(err) {
		return client.Status{}, false, nil
	}
	if err != nil {
		return client.Status{}, false, fmt.Errorf("read task status of %s: %w", ctr.ID(), err)
	}
	return status, true, nil
}

// processStatus is what task.Status says of a task: the client maps the enum the same way.
func processStatus(p *tasktypes.Process) client.Status {
	st := client.Status{Status: client.ProcessStatus(strings.ToLower(p.Status.String())), ExitStatus: p.ExitStatus}
	if p.ExitedAt != nil {
		st.ExitTime = p.ExitedAt.AsTime()
	}
	return st
}

// orphanNetworks lists the Pod networks no listed container uses: left behind when the agent
// was killed between setting a network up and creating the first container.
func (c *Runtime) orphanNetworks(listed []nodeagent.Sandbox) []nodeagent.Sandbox {
	used := map[string]bool{}
	for _, sb := range listed {
		used[sandboxID(sb.Key)] = true
	}
	keys, err := c.net.Orphans(used)
	if err != nil {
		c.log.Warn("cannot list pod networks", "err", err)
		return nil
	}
	out := make([]nodeagent.Sandbox, 0, len(keys))
	for _, key := range keys {
		out = append(out, nodeagent.Sandbox{Key: key})
	}
	return out
}
