package containerd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
)

// EnsurePod implements nodeagent.Runtime: it is EnsurePodConfig without ConfigMaps, so it fails
// for a Pod that needs one.
func (c *Runtime) EnsurePod(ctx context.Context, pod *api.Pod) (string, error) {
	return c.EnsurePodConfig(ctx, pod, nil)
}

// EnsurePodConfig implements nodeagent.ConfigRuntime. The Pod's ConfigMap volumes, and its
// resolv.conf when it uses the cluster DNS, are written under its pod directory before its
// containers are created, and mounted read-only into them.
func (c *Runtime) EnsurePodConfig(ctx context.Context, pod *api.Pod, cms nodeagent.ConfigMaps) (string, error) {
	ctx = c.ns(ctx)
	key := api.PodKeyOf(pod)
	if err := checkPathNames(pod); err != nil {
		return "", fmt.Errorf("ensure pod %s: %w", key, err)
	}
	if err := cms.Check(pod); err != nil {
		return "", fmt.Errorf("ensure pod %s: %w", key, err)
	}
	have, imgs, err := c.prepare(ctx, pod)
	if err != nil {
		return "", err
	}
	net, err := c.ensureNetwork(ctx, pod, have)
	if err != nil {
		return "", err
	}
	fresh := len(have) == 0
	if err := errors.Join(c.writeVolumes(pod, cms), c.writeEmptyDirs(pod), c.writeResolvConf(pod)); err != nil {
		return "", errors.Join(fmt.Errorf("ensure pod %s: %w", key, err), c.undoNewPod(ctx, key, fresh))
	}
	// a failed init container is kept: the next attempt reads its exit under the restart policy
	if err := c.runInitContainers(ctx, pod, have, imgs, net, cms); err != nil {
		return "", fmt.Errorf("ensure pod %s: %w", key, err)
	}
	for _, spec := range pod.Spec.Containers {
		if _, ok := have[spec.Name]; ok {
			continue
		}
		o, err := c.createContainer(ctx, pod, spec, imgs[spec.Image], net, cms)
		if err != nil {
			return "", errors.Join(fmt.Errorf("ensure pod %s: %w", key, err), c.undoNewPod(ctx, key, fresh))
		}
		have[spec.Name] = o
	}
	return net.IP, c.startNew(ctx, key, pod, have)
}

// prepare returns the Pod's existing containers, refusing those of another spec, and its images.
func (c *Runtime) prepare(ctx context.Context, pod *api.Pod) (map[string]owned, map[string]client.Image, error) {
	key, hash := api.PodKeyOf(pod), nodeagent.SpecHash(pod)
	have, err := c.podContainers(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range have {
		if o.labels[labelSpecHash] != hash {
			return nil, nil, fmt.Errorf("ensure pod %s: container %s is of another spec; remove the pod first", key, o.ctr.ID())
		}
	}
	imgs := map[string]client.Image{}
	for _, ctr := range append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...) {
		if imgs[ctr.Image], err = c.image(ctx, ctr); err != nil {
			return nil, nil, fmt.Errorf("ensure pod %s: %w", key, err)
		}
	}
	return have, imgs, nil
}

// startNew starts the containers that have no task yet. A container that fails to start stays
// created, with the attempt recorded, so that the plan retries it after a back-off.
func (c *Runtime) startNew(ctx context.Context, key api.PodKey, pod *api.Pod, have map[string]owned) error {
	var errs []error
	for _, spec := range pod.Spec.Containers {
		o := have[spec.Name]
		_, err := o.ctr.Task(ctx, nil)
		if errdefs.IsNotFound(err) {
			err = c.start(ctx, o, false)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ensure pod %s: %w", key, err)
	}
	return nil
}

// ensureNetwork returns the network the Pod's existing containers use, or sets up a new one
// after clearing what a half-finished earlier attempt left.
func (c *Runtime) ensureNetwork(ctx context.Context, pod *api.Pod, have map[string]owned) (podNet, error) {
	if pod.Spec.HostNetwork {
		return podNet{Host: true}, nil
	}
	for _, o := range have {
		net := netOfLabels(o.labels)
		if !podnet.Mounted(net.NetNSPath) {
			return podNet{}, fmt.Errorf("ensure pod %s: its network namespace %s is gone; remove the pod first", api.PodKeyOf(pod), net.NetNSPath)
		}
		return net, nil
	}
	key := api.PodKeyOf(pod)
	if err := c.net.Teardown(ctx, sandboxID(key), key); err != nil {
		return podNet{}, err
	}
	att, err := c.net.Setup(ctx, sandboxID(key), pod)
	if err != nil {
		return podNet{}, err
	}
	return podNet{IP: att.IP, NetNSPath: att.NetNSPath}, nil
}

// undoNewPod removes a fresh Pod whose containers could not all be created, so that no network
// or volume is left without a container to show for it.
func (c *Runtime) undoNewPod(ctx context.Context, key api.PodKey, fresh bool) error {
	if !fresh {
		return nil
	}
	return c.RemovePod(ctx, key)
}

func (c *Runtime) createContainer(ctx context.Context, pod *api.Pod, spec api.Container, img client.Image,
	net podNet, cms nodeagent.ConfigMaps) (owned, error) {
	key := api.PodKeyOf(pod)
	id := containerID(key, spec.Name)
	opts, err := c.specOpts(ctx, pod, spec, img, net, cms)
	if err != nil {
		return owned{}, err
	}
	labels := containerLabels(c.cfg.NodeName, key, spec.Name, nodeagent.SpecHash(pod), net)
	maps.Copy(labels, stopLabels(pod, spec))
	// containerd's own lease of a create lasts 24 h when the agent is killed before it ends it
	ctx, done, err := c.createLease(ctx)
	if err != nil {
		return owned{}, fmt.Errorf("create container %s: take lease: %w", id, err)
	}
	defer done(context.WithoutCancel(ctx))
	labels[labelImageID] = imageID(img)
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

// leaseExpiry is how long the lease of a container's creation outlives an agent killed during
// it: long enough for any create, short enough that nothing it holds stays long.
const leaseExpiry = 5 * time.Minute

// dropStaleSnapshot removes the snapshot of a container that does not exist (an agent killed
// while creating it) and reports whether it did.
func (c *Runtime) dropStaleSnapshot(ctx context.Context, id string) bool {
	if _, err := c.client.LoadContainer(ctx, id); !errdefs.IsNotFound(err) {
		return false
	}
	return c.client.SnapshotService(c.snapshotter).Remove(ctx, id) == nil
}

// StartContainer implements nodeagent.Runtime.
func (c *Runtime) StartContainer(ctx context.Context, key api.PodKey, name string) error {
	ctx = c.ns(ctx)
	o, err := c.loadOwned(ctx, key, name)
	if err != nil {
		return err
	}
	task, err := o.ctr.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return c.start(ctx, o, false)
	}
	if err != nil {
		return fmt.Errorf("start container %s/%s: %w", key, name, err)
	}
	st, err := task.Status(ctx)
	if err != nil {
		return fmt.Errorf("start container %s/%s: %w", key, name, err)
	}
	if st.Status != client.Created {
		return nil // running, or exited: RestartContainer's business
	}
	// a task created but never started (an agent killed in between): start afresh
	if err := deleteTask(ctx, task); err != nil {
		return fmt.Errorf("start container %s/%s: delete unstarted task: %w", key, name, err)
	}
	return c.start(ctx, o, false)
}

// RestartContainer implements nodeagent.Runtime.
func (c *Runtime) RestartContainer(ctx context.Context, key api.PodKey, name string) error {
	ctx = c.ns(ctx)
	o, err := c.loadOwned(ctx, key, name)
	if err != nil {
		return err
	}
	task, err := o.ctr.Task(ctx, nil)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("restart container %s/%s: %w", key, name, err)
	}
	ran := false
	if err == nil {
		st, err := task.Status(ctx)
		if err != nil {
			return fmt.Errorf("restart container %s/%s: %w", key, name, err)
		}
		if st.Status == client.Running || st.Status == client.Paused || st.Status == client.Pausing {
			return nil
		}
		// a task left created never ran (an agent killed before starting it)
		ran = st.Status == client.Stopped
		if err := deleteTask(ctx, task); err != nil {
			return fmt.Errorf("restart container %s/%s: delete old task: %w", key, name, err)
		}
	}
	return c.start(ctx, o, ran)
}

// start records the start in the container's labels, then runs a new task whose output goes to
// the container's log file; ran says the task it replaces ran, which makes this a restart.
func (c *Runtime) start(ctx context.Context, o owned, ran bool) error {
	key, name := keyOfLabels(o.labels), o.labels[labelContainer]
	labels, err := o.ctr.SetLabels(ctx, startLabels(o.labels, c.cfg.Now(), ran))
	if err != nil {
		return fmt.Errorf("start container %s/%s: record start: %w", key, name, err)
	}
	logPath := logs.Path(c.cfg.DataDir, key, name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return fmt.Errorf("start container %s/%s: %w", key, name, err)
	}
	if err := logs.NewAttempt(logPath); err != nil { // the last attempt's task is gone: its log is whole
		return fmt.Errorf("start container %s/%s: %w", key, name, err)
	}
	task, err := o.ctr.NewTask(ctx, cio.LogFile(logPath))
	if errdefs.IsAlreadyExists(err) {
		// no task was found before this start: the one containerd holds is stale (a shim
		// that lost its container to a delete cut short), or a killed agent's start that
		// containerd is still running; its delete ends either
		c.log.Warn("container's new task refused as existing; deleting the stale one", "pod", key, "container", name)
		if err = c.dropStaleTask(ctx, o.ctr.ID()); err == nil {
			task, err = o.ctr.NewTask(ctx, cio.LogFile(logPath))
		}
	}
	if err != nil {
		return errors.Join(fmt.Errorf("start container %s/%s: create task: %w", key, name, err), c.failedStart(ctx, o))
	}
	if err := task.Start(ctx); err != nil {
		return errors.Join(fmt.Errorf("start container %s/%s: %w", key, name, err), deleteTask(ctx, task), c.failedStart(ctx, o))
	}
	c.log.Info("container started", "pod", key, "container", name, "restarts", labels[labelRestartCount])
	return nil
}

// failedStart moves the recorded start of a container to the end of its failed start, so that
// the back-off counts from then: a failing start can outlast a short back-off on a busy node.
func (c *Runtime) failedStart(ctx context.Context, o owned) error {
	stamp := map[string]string{labelStartedAt: c.cfg.Now().UTC().Format(time.RFC3339Nano)}
	if _, err := o.ctr.SetLabels(context.WithoutCancel(ctx), stamp); err != nil {
		return fmt.Errorf("record failed start of %s: %w", o.ctr.ID(), err)
	}
	return nil
}

// RemovePod implements nodeagent.Runtime.
func (c *Runtime) RemovePod(ctx context.Context, key api.PodKey) error {
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
	if err := c.net.Teardown(ctx, sandboxID(key), key); err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	if err := c.removeVolumes(key); err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	if err := c.removeLogs(key); err != nil {
		return fmt.Errorf("remove pod %s: %w", key, err)
	}
	c.log.Info("pod removed", "pod", key, "containers", len(have))
	return nil
}

func (c *Runtime) removeContainer(ctx context.Context, o owned) error {
	if err := c.stopTask(ctx, o); err != nil {
		return err
	}
	if err := o.ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", o.ctr.ID(), err)
	}
	return nil
}

// deleteTask deletes a task in any state. WithProcessKill is what lets a task left CREATED (an
// agent killed between create and start) go: containerd refuses to delete it otherwise, and
// every later start would fail. The delete is not cancelled with ctx, since a delete cut short
// can leave the task's shim running with no task to show for it.
func deleteTask(ctx context.Context, task client.Task) error {
	return deleteTaskWith(ctx, task, client.WithProcessKill)
}

// deleteExitedTask deletes a task whose process exited. It spares deleteTask's kill, which runs
// runc once more for a process that is gone; a task that is not stopped after all is killed.
func deleteExitedTask(ctx context.Context, task client.Task) error {
	err := deleteTaskWith(ctx, task)
	if errdefs.IsFailedPrecondition(err) {
		return deleteTask(ctx, task)
	}
	return err
}

func deleteTaskWith(ctx context.Context, task client.Task, opts ...client.ProcessDeleteOpts) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), taskDeleteTimeout)
	defer cancel()
	if _, err := task.Delete(ctx, opts...); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	return nil
}

// taskDeleteTimeout bounds a task delete, which kills its process and waits for it.
const taskDeleteTimeout = 30 * time.Second
