package testimage_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
)

// image is an archive read back: its index annotations, config and layer entries.
type image struct {
	annotations map[string]string
	config      map[string]any
	entries     []string // "name type mode link"
}

func readArchive(t *testing.T, path string) image {
	t.Helper()
	files := untar(t, path)
	var index struct {
		Manifests []struct {
			Digest      string            `json:"digest"`
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	mustUnmarshal(t, files["index.json"], &index)
	if len(index.Manifests) != 1 || files["oci-layout"] == nil {
		t.Fatalf("%s: want an oci-layout with one manifest", path)
	}
	var manifest struct {
		Config struct{ Digest string }   `json:"config"`
		Layers []struct{ Digest string } `json:"layers"`
	}
	mustUnmarshal(t, blob(t, files, index.Manifests[0].Digest), &manifest)
	img := image{annotations: index.Manifests[0].Annotations}
	mustUnmarshal(t, blob(t, files, manifest.Config.Digest), &img.config)
	img.entries = untarBytes(t, blob(t, files, manifest.Layers[0].Digest))
	slices.Sort(img.entries)
	return img
}

func blob(t *testing.T, files map[string][]byte, digest string) []byte {
	t.Helper()
	b, ok := files["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")]
	if !ok {
		t.Fatalf("blob %s missing", digest)
	}
	return b
}

func untar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name], _ = io.ReadAll(tr)
	}
}

// untarBytes lists a layer's entries as "name type mode link".
func untarBytes(t *testing.T, layer []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %c %o %s", strings.TrimPrefix(h.Name, "./"), h.Typeflag, h.Mode&0o7777, h.Linkname))
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func buildWithScript(t *testing.T, out string) {
	t.Helper()
	script, err := filepath.Abs("../../examples/build-image.sh")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("sh", script, out).CombinedOutput(); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, b)
	}
}

// TestScriptMatchesBuild checks that examples/build-image.sh and Build make the same image.
func TestScriptMatchesBuild(t *testing.T) {
	dir := t.TempDir()
	fromGo := readArchive(t, testimage.BuildBusybox(t, dir))
	buildWithScript(t, filepath.Join(dir, "script.tar"))
	fromScript := readArchive(t, filepath.Join(dir, "script.tar"))

	if !maps.Equal(fromGo.annotations, fromScript.annotations) || fromGo.annotations["io.containerd.image.name"] != testimage.Ref {
		t.Errorf("annotations: Go %v, script %v", fromGo.annotations, fromScript.annotations)
	}
	for _, img := range []image{fromGo, fromScript} {
		delete(img.config, "history")
		delete(img.config["rootfs"].(map[string]any), "diff_ids") // tar encodings differ
	}
	g, _ := json.Marshal(fromGo.config)
	s, _ := json.Marshal(fromScript.config)
	if !bytes.Equal(g, s) {
		t.Errorf("configs differ:\n Go     %s\n script %s", g, s)
	}
	if !slices.Equal(fromGo.entries, fromScript.entries) {
		t.Errorf("layers differ:\n Go     %d entries %q\n script %d entries %q", len(fromGo.entries),
			fromGo.entries[:8], len(fromScript.entries), fromScript.entries[:8])
	}
	if !slices.Contains(fromGo.entries, "bin/httpd 2 777 busybox") || !slices.Contains(fromGo.entries, "tmp/ 5 1777 ") {
		t.Errorf("layer lacks applet symlinks or /tmp: %q", fromGo.entries[:8])
	}
}

// TestImportAndRun imports the archives of Build and of build-image.sh into containerd and runs
// a command from each.
func TestImportAndRun(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	ns := testenv.Namespace(t, addr)
	c, err := client.New(addr, client.WithDefaultNamespace(ns))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := namespaces.WithNamespace(t.Context(), ns)
	dir := t.TempDir()
	buildWithScript(t, filepath.Join(dir, "script.tar"))
	for i, path := range []string{testimage.BuildBusybox(t, dir), filepath.Join(dir, "script.tar")} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := c.Import(ctx, f)
		f.Close()
		if err != nil || len(imgs) != 1 || imgs[0].Name != testimage.Ref {
			t.Fatalf("import %s: %v, %v", path, imgs, err)
		}
		img := client.NewImage(c, imgs[0])
		if err := img.Unpack(ctx, ""); err != nil {
			t.Fatalf("unpack: %v", err)
		}
		if out := run(ctx, t, c, img, fmt.Sprintf("run-%d", i), "sh", "-c", "echo hello from $(basename $0)"); out != "hello from sh\n" {
			t.Errorf("%s: output %q", path, out)
		}
	}
}

// run runs args in a new container of img and returns its output.
func run(ctx context.Context, t *testing.T, c *client.Client, img client.Image, id string, args ...string) string {
	t.Helper()
	ctr, err := c.NewContainer(ctx, id, client.WithImage(img), client.WithNewSnapshot(id, img),
		client.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs(args...)))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &out, &errOut)))
	if err != nil {
		t.Fatal(err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatal(err)
	}
	st := <-exited
	task.IO().Wait()
	if _, err := task.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if st.ExitCode() != 0 {
		t.Fatalf("exit code %d: %s%s", st.ExitCode(), out.String(), errOut.String())
	}
	return out.String()
}
