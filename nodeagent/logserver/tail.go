package logserver

import (
	"errors"
	"io"
)

// readBlock is how much of a log is read at a time.
const readBlock = 32 << 10

// tailOffset returns where the last n lines of a file of size bytes begin, reading it
// backwards a block at a time, so that a tail of a large log costs about its own size. A last
// line without a newline counts as a line.
func tailOffset(f io.ReaderAt, size int64, n, block int) (int64, error) {
	if n == 0 {
		return size, nil
	}
	buf := make([]byte, block)
	seen := 0
	for end := size; end > 0; {
		start := max(0, end-int64(block))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			// A newline ends a line; the one that ends the file's last line begins none.
			if b[i] != '\n' || start+int64(i) == size-1 {
				continue
			}
			if seen++; seen == n {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return 0, nil
}

// copyFrom writes f's bytes from off up to end (-1: its end, as it grows) to w, and returns the
// offset it reached.
func copyFrom(w io.Writer, f io.ReaderAt, off, end int64) (int64, error) {
	buf := make([]byte, readBlock)
	for end < 0 || off < end {
		b := buf
		if end >= 0 && end-off < int64(len(b)) {
			b = b[:end-off]
		}
		n, err := f.ReadAt(b, off)
		if n > 0 {
			if _, werr := w.Write(b[:n]); werr != nil {
				return off, werr
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return off, nil
		}
		if err != nil {
			return off, err
		}
	}
	return off, nil
}
