package logserver

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tailReference is the last n lines of s, by splitting it whole.
func tailReference(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}

// TestTailOffset compares tailOffset with splitting the whole file, for files with and without
// a trailing newline, empty lines, and lines longer than the block read at a time.
func TestTailOffset(t *testing.T) {
	long := strings.Repeat("x", 100)
	files := []string{"", "a", "a\n", "\n", "\n\n\n", "a\nb", "a\nb\n", "one\ntwo\nthree\n",
		"one\n\ntwo\n\n", long, long + "\n", "a\n" + long + "\nb\n" + long, long + "\n" + long + "\n" + long}
	for _, file := range files {
		for _, block := range []int{1, 2, 3, 7, 64, readBlock} {
			for n := range 6 {
				t.Run(fmt.Sprintf("%q/block=%d/n=%d", trim(file), block, n), func(t *testing.T) {
					off, err := tailOffset(strings.NewReader(file), int64(len(file)), n, block)
					if err != nil {
						t.Fatal(err)
					}
					if got, want := file[off:], tailReference(file, n); got != want {
						t.Errorf("tail %d = %q, want %q", n, got, want)
					}
				})
			}
		}
	}
}

func trim(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// TestCopyFrom copies a range and the rest of a file, in blocks.
func TestCopyFrom(t *testing.T) {
	file := strings.Repeat("0123456789", readBlock/5) // two blocks and more
	for _, c := range []struct {
		off, end int64
	}{{0, -1}, {5, -1}, {3, 17}, {0, int64(len(file))}, {int64(len(file)), -1}} {
		var out bytes.Buffer
		reached, err := copyFrom(&out, strings.NewReader(file), c.off, c.end)
		want := file[c.off:]
		if c.end >= 0 {
			want = file[c.off:c.end]
		}
		if err != nil || out.String() != want || reached != c.off+int64(len(want)) {
			t.Errorf("copyFrom(%d, %d) = %d bytes to %d, %v; want %d to %d", c.off, c.end, out.Len(), reached, err, len(want), c.off+int64(len(want)))
		}
	}
}

// BenchmarkTail measures the last 10 lines of a 10 MiB log (the size rotation keeps it under),
// read backwards, against the baseline of reading the whole file and splitting it.
func BenchmarkTail(b *testing.B) {
	path := filepath.Join(b.TempDir(), "log")
	line := strings.Repeat("x", 99) + "\n"
	if err := os.WriteFile(path, []byte(strings.Repeat(line, 10<<20/len(line))), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	b.Run("backwards", func(b *testing.B) {
		for b.Loop() {
			off, err := tailOffset(f, st.Size(), 10, readBlock)
			if err != nil || st.Size()-off != 10*int64(len(line)) {
				b.Fatalf("offset %d, %v", off, err)
			}
		}
	})
	b.Run("whole-file", func(b *testing.B) {
		for b.Loop() {
			all, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			if got := tailReference(string(all), 10); len(got) != 10*len(line) {
				b.Fatalf("tail of %d bytes", len(got))
			}
		}
	})
}
