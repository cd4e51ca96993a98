package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// daemonConfig is a containerd of a test's own: everything under one directory, CRI off (the
// agent is its only client), and the plugins that only probe the machine and warn (or, for
// opt, write to /opt) off too.
const daemonConfig = `version = 2
root = %[1]q
state = %[2]q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]
[grpc]
  address = %[3]q
[ttrpc]
  address = "%[3]s.ttrpc"
`

// Daemon is a private containerd daemon, as each host of a multi-host test has one: its own
// root, state and socket.
type Daemon struct {
	// Address is the daemon's socket.
	Address string
	// Started is how long the daemon took from exec to answering on its socket.
	Started time.Duration
	dir     string
	conf    string
	command func(name string, args ...string) *exec.Cmd
	cmd     *exec.Cmd
	exited  chan struct{}
	log     *SyncBuffer
	// namespaces are those handed out by Namespace, whose runc state and cgroups stop removes.
	namespaces []string
}

// StartDaemon starts containerd with its root, state and socket under dir, through command
// (exec.Command, or a host's Command to start it on that host), and waits until it answers.
// When t ends it kills and deletes every task and container in it, stops it, and kills any shim
// it left; so register it before the processes that use it, whose cleanups then run first.
func StartDaemon(t testing.TB, dir string, command func(name string, args ...string) *exec.Cmd) *Daemon {
	t.Helper()
	d := &Daemon{Address: filepath.Join(dir, "containerd.sock"), dir: dir, conf: filepath.Join(dir, "config.toml"),
		command: command, log: &SyncBuffer{}}
	body := fmt.Sprintf(daemonConfig, filepath.Join(dir, "root"), filepath.Join(dir, "state"), d.Address)
	if err := os.WriteFile(d.conf, []byte(body), 0o600); err != nil {
		t.Fatalf("write containerd config: %v", err)
	}
	start := time.Now()
	if err := d.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop(t) })
	if err := d.waitReady(30 * time.Second); err != nil {
		t.Fatalf("containerd in %s: %v\n%s", dir, err, d.log.String())
	}
	d.Started = time.Since(start)
	return d
}

func (d *Daemon) start() error {
	d.cmd = d.command("containerd", "--config", d.conf)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	exited := make(chan struct{})
	d.exited = exited
	go func() {
		_ = d.cmd.Wait()
		close(exited)
	}()
	return nil
}

// Signal stops the daemon with sig (SIGTERM, or SIGKILL for a crash) and waits until it has
// exited; the shims it started, and their containers, keep running, as they do when
// containerd restarts on a node.
func (d *Daemon) Signal(sig syscall.Signal) error {
	if err := d.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal containerd: %w", err)
	}
	select {
	case <-d.exited:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("containerd still running 30s after %s", sig)
	}
}

// Restart starts the stopped daemon again on its root, state and socket, and waits until it
// answers.
func (d *Daemon) Restart() error {
	if err := d.start(); err != nil {
		return err
	}
	if err := d.waitReady(30 * time.Second); err != nil {
		return fmt.Errorf("containerd in %s after restart: %w\n%s", d.dir, err, d.log.String())
	}
	return nil
}

// waitReady polls the socket until the daemon answers a version request.
func (d *Daemon) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := d.ping()
		if err == nil {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("exited before it answered: %v", d.cmd.ProcessState)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering after %s: %w", timeout, err)
		}
	}
}

func (d *Daemon) ping() error {
	if _, err := os.Stat(d.Address); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := client.New(d.Address, client.WithTimeout(time.Second))
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Version(ctx)
	return err
}

// Namespace returns a fresh containerd namespace name for a client of the daemon. Even with a
// daemon of its own a test needs one unique on the machine: runc keeps task state and cgroups
// by namespace and container ID, whatever the daemon.
func (d *Daemon) Namespace() string {
	ns := "gitfleet-test-" + randomHex(4)
	d.namespaces = append(d.namespaces, ns)
	return ns
}

// Client connects to the daemon; the caller closes it.
func (d *Daemon) Client() (*client.Client, error) {
	c, err := client.New(d.Address)
	if err != nil {
		return nil, fmt.Errorf("connect containerd at %s: %w", d.Address, err)
	}
	return c, nil
}

// RunningTasks counts the tasks running in every namespace of the daemon.
func RunningTasks(ctx context.Context, c *client.Client) (int, error) {
	nss, err := c.NamespaceService().List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list namespaces: %w", err)
	}
	n := 0
	for _, ns := range nss {
		resp, err := c.TaskService().List(namespaces.WithNamespace(ctx, ns), &tasksapi.ListTasksRequest{})
		if err != nil {
			return 0, fmt.Errorf("list tasks in %s: %w", ns, err)
		}
		for _, p := range resp.Tasks {
			if p.Status == task.Status_RUNNING {
				n++
			}
		}
	}
	return n, nil
}

// stop deletes every task and container, stops the daemon and kills the shims it left.
func (d *Daemon) stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.wipe(ctx); err != nil {
		t.Errorf("empty containerd in %s: %v", d.dir, err)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
	if err := d.killShims(); err != nil {
		t.Errorf("containerd in %s: %v", d.dir, err)
	}
	if err := UnmountUnder(d.dir); err != nil {
		t.Errorf("containerd in %s: %v", d.dir, err)
	}
	for _, ns := range d.namespaces {
		if err := forgetNamespace(ns); err != nil {
			t.Errorf("containerd in %s: %v", d.dir, err)
		}
	}
}

// Log is what the daemon has written so far.
func (d *Daemon) Log() string { return d.log.String() }

// RequireDaemon skips t (fails it when GITFLEET_REQUIRE_CONTAINERD=1) unless it may start
// containerd daemons of its own: root, and containerd, runc and nsenter installed. Under -short
// it always skips.
func RequireDaemon(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containerd daemons; skipped under -short")
	}
	RequireRoot(t)
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "nsenter", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			unavailable(t, fmt.Sprintf("needs %s (scripts/deps.sh installs it): %v", bin, err))
		}
	}
}

// UnmountUnder detaches every mount below dir, deepest first: what a killed shim or agent left
// (a container's rootfs, a Pod's network namespace) would keep dir from being removed.
func UnmountUnder(dir string) error {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return fmt.Errorf("list mounts: %w", err)
	}
	var under []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			under = append(under, f[1])
		}
	}
	var errs []error
	for i := len(under) - 1; i >= 0; i-- {
		if err := syscall.Unmount(under[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", under[i], err))
		}
	}
	return errors.Join(errs...)
}

// wipe deletes every task (killing it) and container in every namespace.
func (d *Daemon) wipe(ctx context.Context) error {
	c, err := d.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	nss, err := c.NamespaceService().List(ctx)
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	var errs []error
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		cs, err := c.Containers(nctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list containers in %s: %w", ns, err))
			continue
		}
		for _, ctr := range cs {
			errs = append(errs, deleteContainer(nctx, c, ctr))
		}
	}
	return errors.Join(errs...)
}

// killShims kills the shims that still name this daemon's socket: a task the wipe could not
// delete leaves its shim, and its container, running after the daemon is gone.
func (d *Daemon) killShims() error {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	var left []string
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte("containerd-shim")) ||
			!bytes.Contains(cmdline, []byte("\x00"+d.Address+"\x00")) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		left = append(left, p.Name())
	}
	if len(left) > 0 {
		return fmt.Errorf("killed shims left running: pids %s", strings.Join(left, ", "))
	}
	return nil
}
