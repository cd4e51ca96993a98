package logs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Suffixes of the files beside a container's log: the older part of the current attempt's
// output (rotated out by size) and the output of the attempt before (gitfleet logs --previous).
const (
	rotatedSuffix  = ".1"
	previousSuffix = ".previous"
)

// Rotated is where Rotate moves the older part of the log at path.
func Rotated(path string) string { return path + rotatedSuffix }

// Previous is where NewAttempt keeps the log of a container's attempt before the current one.
func Previous(path string) string { return path + previousSuffix }

// Rotate copies the log at path to Rotated(path), replacing the one before, and truncates it,
// when it holds more than maxBytes; it reports whether it did. The runtime's shim keeps writing
// the log, opened for appending, so the log is copied and truncated rather than renamed: what
// the container writes between the copy and the truncation is lost, as with logrotate's
// copytruncate. A missing log is no error.
func Rotate(path string, maxBytes int64) (bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && st.Size() <= maxBytes {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rotate log: %w", err)
	}
	if err := copyFile(path, Rotated(path)); err != nil {
		return false, fmt.Errorf("rotate log %s: %w", path, err)
	}
	if err := os.Truncate(path, 0); err != nil {
		return false, fmt.Errorf("rotate log %s: %w", path, err)
	}
	return true, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := to + ".tmp"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, to)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// NewAttempt keeps the log of a container's attempt that ended as Previous(path), before a new
// attempt starts writing path; the previous attempt's rotated part is dropped. Call it only
// once the attempt's task is gone, so that nothing writes the log any more.
func NewAttempt(path string) error {
	if err := os.Rename(path, Previous(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keep previous log: %w", err)
	}
	if err := os.Remove(Rotated(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keep previous log: %w", err)
	}
	return nil
}

// Remove removes a container's log with its rotated and previous parts; missing files are no
// error.
func Remove(path string) error {
	var errs []error
	for _, p := range []string{path, Rotated(path), Previous(path)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove log: %w", err)
	}
	return nil
}
