package containerd

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// TestSignalDirect signals a real child process the way a container's main process is
// signalled, with this process's own cgroup standing in for the container's, and checks the
// cases where only containerd may signal.
func TestSignalDirect(t *testing.T) {
	cg := ownCgroup(t)
	withPIDNS := func(path, nsPath string) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{CgroupsPath: path,
			Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace}, {Type: specs.PIDNamespace, Path: nsPath}}}}
	}
	for _, tc := range []struct {
		name string
		spec *specs.Spec
		want error // nil: the child ends on SIGTERM
	}{
		{"own cgroup and pid namespace", withPIDNS(cg, ""), nil},
		{"another cgroup", withPIDNS("/gitfleet-test/other", ""), errNoDirectSignal},
		{"shared pid namespace", withPIDNS(cg, "/proc/1/ns/pid"), errNoDirectSignal},
		{"no pid namespace", &specs.Spec{Linux: &specs.Linux{CgroupsPath: cg}}, errNoDirectSignal},
		{"systemd cgroup", withPIDNS("system.slice:gitfleet:x", ""), errNoDirectSignal},
		{"no linux section", &specs.Spec{}, errNoDirectSignal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sleep", "60")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var waitErr error
			done := make(chan struct{})
			go func() {
				waitErr = cmd.Wait()
				close(done)
			}()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-done
			})
			err := signalDirect(cmd.Process.Pid, tc.spec, syscall.SIGTERM)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("signalDirect: %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			select {
			case <-done:
				var exit *exec.ExitError
				if !errors.As(waitErr, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
					t.Fatalf("child ended with %v, want SIGTERM", waitErr)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("child still runs 10s after SIGTERM")
			}
		})
	}
	if err := signalDirect(0, withPIDNS(cg, ""), syscall.SIGTERM); !errors.Is(err, errNoDirectSignal) {
		t.Errorf("pid 0: %v", err)
	}
}

// ownCgroup returns a cgroup path of this process, as /proc/self/cgroup lists it.
func ownCgroup(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if parts := strings.SplitN(strings.TrimSpace(line), ":", 3); len(parts) == 3 && strings.HasPrefix(parts[2], "/") {
			return parts[2]
		}
	}
	t.Fatalf("no cgroup path in %q", b)
	return ""
}
