package containerd

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errNotThatProcess says a PID no longer names the process meant: it ended, or its PID was
// taken by another.
var errNotThatProcess = errors.New("not the process meant")

// proc is a process held through a pidfd, which reaches that process only, never one that takes
// its PID after it ends.
type proc struct {
	pid, fd int
}

// openProc opens a pidfd on pid and checks with is that the process is the one meant. Alive
// after the check, it is the process the check read: a PID is reused only once its process is
// gone. It returns errNotThatProcess when the check fails or the process has ended.
func openProc(pid int, is func(pid int) bool) (proc, error) {
	if pid <= 0 {
		return proc{}, fmt.Errorf("open pidfd of %d: %w", pid, errNotThatProcess)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return proc{}, fmt.Errorf("open pidfd of %d: %w", pid, errNotThatProcess)
	}
	if err != nil {
		return proc{}, fmt.Errorf("open pidfd of %d: %w", pid, err)
	}
	p := proc{pid: pid, fd: fd}
	if !is(pid) || p.signal(0) != nil {
		p.close()
		return proc{}, fmt.Errorf("check process %d: %w", pid, errNotThatProcess)
	}
	return p, nil
}

func (p proc) close() { unix.Close(p.fd) }

// signal sends sig (0: none, only a check that it runs) to the process.
func (p proc) signal(sig syscall.Signal) error {
	if err := unix.PidfdSendSignal(p.fd, unix.Signal(sig), nil, 0); err != nil {
		return fmt.Errorf("signal %d: %w", p.pid, err)
	}
	return nil
}

// wait reports whether the process ends within timeout (a pidfd polls readable then); ctx's end
// cuts it short.
func (p proc) wait(ctx context.Context, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for ctx.Err() == nil {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		// in steps, so that ctx's end is noticed
		n, err := unix.Poll(fds, int(min(left, 100*time.Millisecond).Milliseconds())+1)
		if n > 0 {
			return true
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return false
		}
	}
	fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, 0)
	return n > 0
}
