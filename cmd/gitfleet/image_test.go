package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
)

func TestImageImport(t *testing.T) {
	ns := testenv.Namespace(t, testenv.RequireContainerd(t))
	archive := filepath.Join(t.TempDir(), "busybox.tar")
	if err := testimage.Build(archive, testimage.Ref); err != nil {
		t.Fatal(err)
	}
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

// TestImageImportShortName imports a docker archive whose image is tagged acme/app:1: the CLI
// reports, and containerd holds, the normalised name a Pod's image acme/app:1 resolves to.
func TestImageImportShortName(t *testing.T) {
	ns := testenv.Namespace(t, testenv.RequireContainerd(t))
	archive := filepath.Join(t.TempDir(), "app.tar")
	if err := testimage.BuildDocker(archive, "acme/app:1"); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCLI("image", "import", "--containerd-namespace", ns, "--data-dir", t.TempDir(), archive)
	if err != nil {
		t.Fatalf("image import: %v\n%s", err, stderr)
	}
	if strings.TrimSpace(out) != "imported docker.io/acme/app:1" {
		t.Fatalf("stdout = %q", out)
	}
	refs, err := exec.Command("ctr", "-n", ns, "images", "ls", "-q").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(refs)) != "docker.io/acme/app:1" {
		t.Fatalf("containerd namespace %s has images %q, want docker.io/acme/app:1 alone", ns, refs)
	}
}
