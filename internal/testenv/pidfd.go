package testenv

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// OpenPidfds opens a pidfd on each process, closed when t ends. A pidfd follows its process, not
// its PID, so Ended cannot mistake a process that took the PID later for the one that ended.
func OpenPidfds(t testing.TB, pids []uint32) []int {
	t.Helper()
	fds := make([]int, 0, len(pids))
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(int(pid), 0)
		if err != nil {
			t.Fatalf("open pidfd of %d: %v", pid, err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		fds = append(fds, fd)
	}
	return fds
}

// Ended fails unless the process of every pidfd has ended (a pidfd polls readable then).
func Ended(fds []int) error {
	pfds := make([]unix.PollFd, len(fds))
	for i, fd := range fds {
		pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	}
	n, err := unix.Poll(pfds, 0)
	if err != nil {
		return fmt.Errorf("poll pidfds: %w", err)
	}
	if n < len(fds) {
		return fmt.Errorf("%d of %d processes still run", len(fds)-n, len(fds))
	}
	return nil
}
