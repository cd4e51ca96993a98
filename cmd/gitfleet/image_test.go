package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
)

func TestImageImport(t *testing.T) {
	testenv.RequireContainerd(t)
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	if err := testimage.Build(archive, testimage.Ref); err != nil {
		t.Fatal(err)
	}
	ns := fmt.Sprintf("gitfleet-import-%d", time.Now().UnixNano())
	t.Cleanup(func() { removeContainerdNamespace(ns) })
	out, stderr, err := runCLI("image", "import", "--containerd-namespace", ns, "--data-dir", t.TempDir(), archive)
	if err != nil {
		t.Fatalf("image import: %v\n%s", err, stderr)
	}
	if strings.TrimSpace(out) != "imported "+testimage.Ref {
		t.Fatalf("stdout = %q", out)
	}
	refs, err := exec.Command("ctr", "-n", ns, "images", "ls", "-q").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(refs), testimage.Ref) {
		t.Fatalf("containerd namespace %s has images %q, want %s", ns, refs, testimage.Ref)
	}
}
