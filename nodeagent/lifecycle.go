package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/gitfleet/gitfleet/api"
)

// EnsurePod implements Runtime.
func (c *Containerd) EnsurePod(ctx context.Context, pod *api.Pod) (string, error) {
	ctx = c.ns(ctx)
	key, hash := KeyOf(pod), SpecHash(pod)
	have, err := c.podContainers(ctx, key)
	if err != nil {
		return "", err
	}
	for _, o := range have {
		if o.labels[LabelSpecHash] != hash {
			return "", fmt.Errorf("ensure pod %s: container %s is of another spec; remove the pod first", key, o.ctr.ID())
		}
	}
	imgs := map[string]client.Image{}
	for _, ctr := range pod.Spec.Containers {
		if imgs[ctr.Image], err = c.image(ctx, ctr.Image); err != nil {
			return "", fmt.Errorf("ensure pod %s: %w", key, err)
		}
	}
	net, err := c.ensureNetwork(ctx, pod, have)
	if err != nil {
		return "", err
	}
	for _, spec := range pod.Spec.Containers {
		if err := c.ensureContainer(ctx, pod, spec, imgs[spec.Image], net, have); err != nil {
			return "", errors.Join(fmt.Errorf("ensure pod %s: %w", key, err), c.undoNewPod(ctx, key, have))
		}
	}
	return net.IP, nil
}

// ensureNetwork returns the network the Pod's existing containers use, or sets up a new one
// after clearing what a half-finished earlier attempt left.
func (c *Containerd) ensureNetwork(ctx context.Context, pod *api.Pod, have map[string]owned) (podNet, error) {
	if pod.Spec.HostNetwork {
		return podNet{Host: true}, nil
	}
	for _, o := range have {
		net := netOfLabels(o.labels)
		if !netnsOpen(net.NetNSPath) {
			return podNet{}, fmt.Errorf("ensure pod %s: its network namespace %s is gone; remove the pod first", KeyOf(pod), net.NetNSPath)
		}
		return net, nil
	}
	if err := c.teardownNetwork(ctx, KeyOf(pod)); err != nil {
		return podNet{}, err
	}
	return c.setupNetwork(ctx, pod)
}

// undoNewPod removes a Pod whose creation failed before any of its containers existed, so that
// no network is left without a container to show for it.
func (c *Containerd) undoNewPod(ctx context.Context, key PodKey, had map[string]owned) error {
	if len(had) > 0 {
		return nil
	}
	return c.RemovePod(ctx, key)
}

// ensureContainer creates the container if it is missing and starts it if it never ran.
func (c *Containerd) ensureContainer(ctx context.Context, pod *api.Pod, spec api.Container, img client.Image, net podNet, have map[string]owned) error {
	o, ok := have[spec.Name]
	if !ok {
		var err error
		if o, err = c.createContainer(ctx, pod, spec, img, net); err != nil {
			return err
		}
	}
	if _, err := o.ctr.Task(ctx, nil); err == nil || !errdefs.IsNotFound(err) {
		return err // a task exists: started before, whatever its state
	}
	return c.start(ctx, o)
}

func (c *Containerd) createContainer(ctx context.Context, pod *api.Pod, spec api.Container, img client.Image, net podNet) (owned, error) {
	key := KeyOf(pod)
	id := containerID(key, spec.Name)
	opts, err := c.specOpts(ctx, pod, spec, img, net)
	if err != nil {
		return owned{}, err
	}
	labels := containerLabels(c.cfg.NodeName, key, spec.Name, SpecHash(pod), net)
	create := func() (client.Container, error) {
		return c.client.NewContainer(ctx, id,
			client.WithImage(img),
			client.WithSnapshotter(c.snapshotter),
			client.WithNewSnapshot(id, img),
			client.WithNewSpec(opts...),
			client.WithContainerLabels(labels))
	}
	ctr, err := create()
	if errdefs.IsAlreadyExists(err) && c.dropStaleSnapshot(ctx, id) {
		ctr, err = create()
	}
	if err != nil {
		return owned{}, fmt.Errorf("create container %s: %w", id, err)
	}
	c.log.Info("container created", "pod", key, "container", spec.Name, "id", id)
	return owned{ctr, labels}, nil
}

// dropStaleSnapshot removes the snapshot of a container that does not exist (an agent killed
// while creating it) and reports whether it did.
func (c *Containerd) dropStaleSnapshot(ctx context.Context, id string) bool {
	if _, err := c.client.LoadContainer(ctx, id); !errdefs.IsNotFound(err) {
		return false
	}
	return c.client.SnapshotService(c.snapshotter).Remove(ctx, id) == nil
}

// StartContainer implements Runtime.
func (c *Containerd) StartContainer(ctx context.Context, key PodKey, name string) error {
	ctx = c.ns(ctx)
	o, err := c.loadOwned(ctx, key, name)
	if err != nil {
		return err
	}
	task, err := o.ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return c.start(ctx, o)
	}
	if err != nil {
		return fmt.Errorf("start container %s/%s: %w", key, name, err)
	}
	st, err := task.Status(ctx)
	if err != nil || st.Status != client.Created {
		return err // running or exited: not ours to start
	}
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("start container %s/%s: delete unstarted task: %w", key, name, err)
	}
	return c.start(ctx, o)
}

// RestartContainer implements Runtime.
func (c *Containerd) RestartContainer(ctx context.Context, key PodKey, name string) error {
	ctx = c.ns(ctx)
	o, err := c.loadOwned(ctx, key, name)
	if err != nil {
		return err
	}
	task, err := o.ctr.Task(ctx, nil)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("restart container %s/%s: %w", key, name, err)
	}
	if err == nil {
		st, err := task.Status(ctx)
		if err != nil {
			return fmt.Errorf("restart container %s/%s: %w", key, name, err)
		}
		if st.Status == client.Running || st.Status == client.Paused || st.Status == client.Pausing {
			return nil
		}
		if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("restart container %s/%s: delete exited task: %w", key, name, err)
		}
	}
	return c.start(ctx, o)
}

// start records the start in the container's labels, then runs a new task whose output goes to
// the container's log file.
func (c *Containerd) start(ctx context.Context, o owned) error {
	key, name := keyOfLabels(o.labels), o.labels[LabelContainer]
	labels, err := o.ctr.SetLabels(ctx, startLabels(o.labels, c.cfg.Now()))
	if err != nil {
		return fmt.Errorf("start container %s/%s: record start: %w", key, name, err)
	}
	logPath := LogPath(c.cfg.DataDir, key, name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fmt.Errorf("start container %s/%s: %w", key, name, err)
	}
	task, err := o.ctr.NewTask(ctx, cio.LogFile(logPath))
	if err != nil {
		return fmt.Errorf("start container %s/%s: create task: %w", key, name, err)
	}
	if err := task.Start(ctx); err != nil {
		_, derr := task.Delete(ctx, client.WithProcessKill)
		return errors.Join(fmt.Errorf("start container %s/%s: %w", key, name, err), derr)
	}
	c.log.Info("container started", "pod", key, "container", name, "restarts", labels[LabelRestartCount])
	return nil
}

// RemovePod implements Runtime.
func (c *Containerd) RemovePod(ctx context.Context, key PodKey) error {
	ctx = c.ns(ctx)
	have, err := c.podContainers(ctx, key)
	if err != nil {
		return err
	}
	errs := make([]error, 0, len(have)+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, o := range have {
		wg.Go(func() {
			err := c.removeContainer(ctx, o)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	if err := c.teardownNetwork(ctx, key); err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	c.log.Info("pod removed", "pod", key, "containers", len(have))
	return nil
}

func (c *Containerd) removeContainer(ctx context.Context, o owned) error {
	if err := c.stopTask(ctx, o.ctr); err != nil {
		return err
	}
	if err := o.ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", o.ctr.ID(), err)
	}
	return nil
}

// stopTask sends SIGTERM, waits up to the stop timeout, then kills and deletes the task.
func (c *Containerd) stopTask(ctx context.Context, ctr client.Container) error {
	task, err := ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop container %s: %w", ctr.ID(), err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return fmt.Errorf("stop container %s: %w", ctr.ID(), err)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); err == nil {
		timer := time.NewTimer(c.cfg.StopTimeout)
		defer timer.Stop()
		select {
		case <-exited:
		case <-timer.C:
		case <-ctx.Done():
			return fmt.Errorf("stop container %s: %w", ctr.ID(), ctx.Err())
		}
	}
	if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete task of %s: %w", ctr.ID(), err)
	}
	return nil
}
