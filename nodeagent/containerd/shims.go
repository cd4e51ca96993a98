package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	tasksapi "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"golang.org/x/sys/unix"
)

// A killed agent can leave a containerd shim behind in two ways that containerd 1.6 does not
// clear by itself. A kill while containerd runs the shim's start command leaves the shim
// serving with no task: containerd forgets it and removes its bundle, so only the process shows
// it. A kill while containerd deletes a task can leave the task in containerd's list with a
// shim that no longer holds its container: containerd lists no task and answers "already
// exists" to every new one (issue 11, found by TestAgentKill9). The first is ended by its
// process; the second through the task service, whose delete ends the shim.

// shimProc is a containerd shim process, as its command line names it.
type shimProc struct {
	PID                    int
	Namespace, ID, Address string
}

// parseShim reads a shim's command line ("containerd-shim-runc-v2 -namespace NS -id ID
// -address A"), split at NULs; ok is false for any other process.
func parseShim(pid int, args []string) (shimProc, bool) {
	if len(args) == 0 || !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
		return shimProc{}, false
	}
	s := shimProc{PID: pid, Namespace: flagOf(args, "-namespace"), ID: flagOf(args, "-id"), Address: flagOf(args, "-address")}
	return s, s.Namespace != "" && s.ID != ""
}

func flagOf(args []string, name string) string {
	if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

// listShims returns the shim processes of the machine, as /proc (procDir) shows them.
func listShims(procDir string) ([]shimProc, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []shimProc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cmdline"))
		if err != nil {
			continue // ended meanwhile
		}
		if s, ok := parseShim(pid, strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")); ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// gitfleetID matches the container IDs containerID makes: "namespace_pod_container" of DNS
// labels, or "gf-" and a hash.
var gitfleetID = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?_){2}[a-z0-9]([-a-z0-9]*[a-z0-9])?$|^gf-[0-9a-f]{20}$`)

// orphanShims returns the shims serving containerd at address in namespace ns whose ID is one
// gitfleet makes and names no container of the namespace (containers), which must have been
// listed after shims were: a shim seen before a container exists cannot be that container's.
func orphanShims(shims []shimProc, address, ns string, containers map[string]bool) []shimProc {
	var out []shimProc
	for _, s := range shims {
		if s.Namespace == ns && s.Address == address && gitfleetID.MatchString(s.ID) && !containers[s.ID] {
			out = append(out, s)
		}
	}
	return out
}

// collectShims ends the shims of this runtime's namespace whose container is gone.
func (c *Runtime) collectShims(ctx context.Context) error {
	ctx = c.ns(ctx)
	shims, err := listShims("/proc")
	if err != nil {
		return err
	}
	ctrs, err := c.client.ContainerService().List(ctx)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	have := make(map[string]bool, len(ctrs))
	for _, ctr := range ctrs {
		have[ctr.ID] = true
	}
	var errs []error
	for _, s := range orphanShims(shims, strings.TrimPrefix(c.cfg.Address, "unix://"), c.cfg.Namespace, have) {
		c.log.Warn("ending a shim left without its container", "id", s.ID, "pid", s.PID)
		errs = append(errs, endShim(ctx, s))
	}
	return errors.Join(errs...)
}

// endShim ends a shim process with SIGTERM, and SIGKILL when it has not gone after
// shimStopTimeout; the processes it still runs (a container gitfleet no longer has) are killed
// first, since they would outlive it. Each is signalled through a pidfd opened before checking
// that it is the shim, or the shim's child, still: a reused PID is left alone.
func endShim(ctx context.Context, s shimProc) error {
	shim, err := openProc(s.PID, func(pid int) bool { return isShim(s) })
	if errors.Is(err, errNotThatProcess) {
		return nil // gone already
	}
	if err != nil {
		return fmt.Errorf("end shim %d of %s: %w", s.PID, s.ID, err)
	}
	defer shim.close()
	for _, pid := range childrenOf(s.PID) {
		if child, err := openProc(pid, func(pid int) bool { return parentOf(pid) == s.PID }); err == nil {
			_ = child.signal(syscall.SIGKILL)
			child.close()
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := shim.signal(sig); errors.Is(err, unix.ESRCH) {
			return nil
		} else if err != nil {
			return fmt.Errorf("end shim %d of %s: %w", s.PID, s.ID, err)
		}
		if shim.wait(ctx, shimStopTimeout) {
			return nil
		}
	}
	return fmt.Errorf("end shim %d of %s: still running %v after SIGKILL", s.PID, s.ID, shimStopTimeout)
}

// shimStopTimeout is how long a shim has to exit after a signal.
const shimStopTimeout = 2 * time.Second

// isShim reports whether s.PID is still that shim (and not a zombie).
func isShim(s shimProc) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", s.PID))
	if err != nil || len(b) == 0 {
		return false
	}
	got, ok := parseShim(s.PID, strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
	return ok && got == s
}

// childrenOf returns the PIDs whose parent is pid.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range stats {
		child, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err == nil && parentOf(child) == pid {
			out = append(out, child)
		}
	}
	return out
}

// parentOf returns the parent of pid from /proc/<pid>/stat, or 0.
func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// dropStaleTask deletes the task containerd holds for a container through the task service:
// for a stale task (a shim that no longer holds its container) containerd ends the shim,
// removes the task and then reports the shim's "container not created" as not found; for no
// task at all it reports not found too. Either way the container may get a new task.
func (c *Runtime) dropStaleTask(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), taskDeleteTimeout)
	defer cancel()
	_, err := c.client.TaskService().Delete(ctx, &tasksapi.DeleteTaskRequest{ContainerID: id})
	if err := errgrpc.ToNative(err); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete stale task of %s: %w", id, err)
	}
	return nil
}
