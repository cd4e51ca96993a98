package containerd

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/client"
)

// cgroupRoot is where the kernel's cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// exitSIGKILL is the exit status of a process killed by SIGKILL, as the OOM killer does.
const exitSIGKILL = 128 + 9

// oomKilled reports whether the kernel's OOM killer killed a process of the container's
// cgroup: the oom_kill counter of memory.events (cgroup v2) or memory.oom_control (v1), which
// the cgroup keeps from the task's exit until the task is deleted. Only cgroupfs paths
// (containerd's default, /<namespace>/<id>) are read; under the systemd driver it says false.
func oomKilled(ctx context.Context, ctr client.Container) bool {
	spec, err := ctr.Spec(ctx)
	if err != nil || spec.Linux == nil || !filepath.IsAbs(spec.Linux.CgroupsPath) {
		return false
	}
	p := spec.Linux.CgroupsPath
	for _, f := range []string{filepath.Join(cgroupRoot, p, "memory.events"),
		filepath.Join(cgroupRoot, "memory", p, "memory.oom_control")} {
		if n, ok := readOOMKills(f); ok {
			return n > 0
		}
	}
	return false
}

// readOOMKills returns the oom_kill counter of a memory.events or memory.oom_control file, and
// whether the file had one.
func readOOMKills(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
