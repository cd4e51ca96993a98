package containerd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/containerd/v2/client"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// errNoDirectSignal says a container's main process cannot be signalled from the agent itself,
// and must be through containerd.
var errNoDirectSignal = errors.New("no direct signal")

// signalTask sends sig to a task's main process. It does so from the agent through a pidfd when
// it can: through containerd each signal runs runc, a process of its own, which costs tens of
// milliseconds of CPU; 47 Pods stopped at once then wait seconds for their SIGKILL, on 2 cores.
// It goes through containerd when the container shares its PID namespace (killing the main
// process then would not end the others, which runc's kill --all does) or cannot be told apart
// from a process that took its PID. Through containerd, a SIGKILL goes to every process of the
// container. spec is the container's; nil (unread) signals through containerd.
func signalTask(ctx context.Context, spec *specs.Spec, task client.Task, sig syscall.Signal) error {
	if spec != nil && signalDirect(int(task.Pid()), spec, sig) == nil {
		return nil
	}
	var opts []client.KillOpts
	if sig == syscall.SIGKILL {
		opts = append(opts, client.WithKillAll)
	}
	return task.Kill(ctx, sig, opts...)
}

// signalDirect signals pid, the main process of the container spec describes, through a pidfd
// once the process is checked to be in the container's cgroup. It returns errNoDirectSignal
// where only containerd may signal.
func signalDirect(pid int, spec *specs.Spec, sig syscall.Signal) error {
	if spec.Linux == nil || !filepath.IsAbs(spec.Linux.CgroupsPath) || !ownPIDNamespace(spec) {
		return errNoDirectSignal
	}
	p, err := openProc(pid, func(pid int) bool {
		in, err := inCgroup(pid, spec.Linux.CgroupsPath)
		return err == nil && in
	})
	if err != nil {
		return fmt.Errorf("%w: %w", errNoDirectSignal, err)
	}
	defer p.close()
	return p.signal(sig)
}

// ownPIDNamespace reports whether the container has a PID namespace of its own: its main
// process is then its init, whose end ends every other process in it.
func ownPIDNamespace(spec *specs.Spec) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace {
			return ns.Path == ""
		}
	}
	return false
}

// inCgroup reports whether /proc/<pid>/cgroup places the process in path, under any hierarchy
// (cgroup v1 lists one line per hierarchy, v2 one line).
func inCgroup(pid int, path string) (bool, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		if parts := strings.SplitN(sc.Text(), ":", 3); len(parts) == 3 && parts[2] == path {
			return true, nil
		}
	}
	return false, sc.Err()
}
