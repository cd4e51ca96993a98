package logs

import (
	"os"
	"path/filepath"
	"testing"
)

func readOrMissing(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRotateAttempts walks a log through rotation by size, a new attempt and removal.
func TestRotateAttempts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "default_web_app.log")
	if rotated, err := Rotate(path, 4); rotated || err != nil {
		t.Fatalf("rotate a missing log: %v, %v", rotated, err)
	}
	if err := os.WriteFile(path, []byte("abcd"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rotated, err := Rotate(path, 4); rotated || err != nil {
		t.Fatalf("rotate a log at the limit: %v, %v", rotated, err)
	}
	if err := os.WriteFile(path, []byte("abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rotated, err := Rotate(path, 4); !rotated || err != nil {
		t.Fatalf("rotate a log over the limit: %v, %v", rotated, err)
	}
	if cur, old := readOrMissing(t, path), readOrMissing(t, Rotated(path)); cur != "" || old != "abcdef" {
		t.Fatalf("after rotation: log %q, rotated %q", cur, old)
	}
	if err := os.WriteFile(path, []byte("gh"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := NewAttempt(path); err != nil {
		t.Fatal(err)
	}
	if cur, old, prev := readOrMissing(t, path), readOrMissing(t, Rotated(path)), readOrMissing(t, Previous(path)); cur != "<missing>" || old != "<missing>" || prev != "gh" {
		t.Fatalf("after a new attempt: log %q, rotated %q, previous %q", cur, old, prev)
	}
	if err := NewAttempt(path); err != nil { // an attempt that wrote nothing leaves the one before
		t.Fatal(err)
	}
	if err := Remove(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("left after Remove: %v", entries)
	}
}
