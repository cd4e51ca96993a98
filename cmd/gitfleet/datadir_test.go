package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDataDirPrivate checks that the data dir is 0700, made so or tightened from an existing
// 0755 one, and that the files gitfleet writes there (the endpoints among them) are 0600.
func TestDataDirPrivate(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "fresh")
	old := t.TempDir()
	if err := os.Chmod(old, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{fresh, old} {
		unlock, err := lockDataDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		unlock()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("data dir %s: %v, %v; want 0700", dir, fi.Mode(), err)
		}
	}
	file := endpointsFile(fresh)
	if err := os.WriteFile(file+".tmp", nil, 0o644); err != nil { // left by a crash
		t.Fatal(err)
	}
	if err := writeFileAtomic(file, []byte("http://127.0.0.1:2379\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("endpoints file: %v, %v; want 0600", fi.Mode(), err)
	}
}
