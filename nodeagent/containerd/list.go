package containerd

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
		st, err := c.observe(ctx, ctr, labels)
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

// observe reads a container's task state without attaching to its IO.
func (c *Runtime) observe(ctx context.Context, ctr client.Container, labels map[string]string) (nodeagent.ContainerState, error) {
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
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("load task of %s: %w", ctr.ID(), err)
	}
	status, err := task.Status(ctx)
	if errdefs.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read task status of %s: %w", ctr.ID(), err)
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
