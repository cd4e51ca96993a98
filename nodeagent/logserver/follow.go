package logserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/gitfleet/gitfleet/nodeagent/logs"
)

// follow writes f from off on to w, then what the container writes next, until ctx ends (the
// client went away, or the server shuts down) or the log is removed with its Pod. It follows the
// log across a rotation (logs.Rotate truncates it in place) and a new attempt (logs.NewAttempt
// renames it away and the runtime creates it anew).
//
// It polls every Options.Poll (250 ms) rather than use inotify: a poll is one read and one stat
// per follower, which costs nothing at that rate, needs no watch descriptors (a per-user
// limit), and sees all three changes with the same two checks, where inotify would need a watch
// on the directory too, for the rename and the new file, and would still have to compare sizes
// for the truncation. A line reaches the client within a poll of being written.
func (h *Handler) follow(ctx context.Context, w io.Writer, first *os.File, path string, off int64) error {
	f := first // the caller closes first; follow the files it opens itself
	defer func() {
		if f != first {
			f.Close()
		}
	}()
	tick := time.NewTicker(h.opts.Poll)
	defer tick.Stop()
	for {
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("follow log: %w", err)
		}
		// Rotated: truncated below what was sent. What it holds now is new. (Were it to grow
		// past off again within one poll, that much would be lost: a rotation happens only past
		// 10 MiB, so the log would have to grow 10 MiB in 250 ms behind a reader that kept up.)
		if st.Size() < off {
			off = 0
		}
		if off, err = copyFrom(w, f, off, -1); err != nil {
			return err
		}
		cur, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Between two attempts (the last one kept as previous), or removed with the Pod.
			if _, err := os.Stat(logs.Previous(path)); errors.Is(err, fs.ErrNotExist) {
				return nil
			}
		case err != nil:
			return fmt.Errorf("follow log: %w", err)
		case !os.SameFile(st, cur):
			// A new attempt: the last one ended before its log was renamed, so what it wrote
			// after the copy above is all there is left of it.
			if off, err = copyFrom(w, f, off, -1); err != nil {
				return err
			}
			next, err := os.Open(path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("follow log: %w", err)
			}
			if err == nil {
				if f != first {
					f.Close()
				}
				f, off = next, 0
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
