// Package testimage builds a small busybox OCI image archive that containerd can import, for tests.
package testimage

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Ref is the name the archive gives its image.
const Ref = "gitfleet.local/busybox:1"

// BusyboxPath is where Debian's busybox-static installs the binary the image is made of.
const BusyboxPath = "/usr/bin/busybox"

// BuildBusybox writes the busybox image archive to dir/busybox.tar and returns its path; it fails
// t when the image cannot be built (for example when busybox-static is not installed).
func BuildBusybox(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "busybox.tar")
	if err := Build(path, Ref); err != nil {
		t.Fatalf("build busybox image: %v", err)
	}
	return path
}

// Build writes an oci-layout tar archive at path holding one image named ref: one uncompressed
// layer with /bin/busybox and a symlink per applet, a config running "/bin/busybox sh", a
// manifest and an index (the same image examples/build-image.sh makes).
func Build(path, ref string) error {
	layer, err := rootfsLayer(BusyboxPath)
	if err != nil {
		return fmt.Errorf("build layer: %w", err)
	}
	blobs := map[string][]byte{}
	layerDesc := addBlob(blobs, "application/vnd.oci.image.layer.v1.tar", layer)
	configDesc := addBlob(blobs, "application/vnd.oci.image.config.v1+json", mustJSON(imageConfig(layerDesc.Digest)))
	manifestDesc := addBlob(blobs, "application/vnd.oci.image.manifest.v1+json", mustJSON(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        configDesc,
		"layers":        []descriptor{layerDesc},
	}))
	manifestDesc.Annotations = map[string]string{
		"io.containerd.image.name":          ref,
		"org.opencontainers.image.ref.name": ref,
	}
	manifestDesc.Platform = &platform{Architecture: runtime.GOARCH, OS: "linux"}
	index := mustJSON(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests":     []descriptor{manifestDesc},
	})
	return writeLayout(path, index, blobs)
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *platform         `json:"platform,omitempty"`
}

func addBlob(blobs map[string][]byte, mediaType string, data []byte) descriptor {
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	blobs[digest] = data
	return descriptor{MediaType: mediaType, Digest: digest, Size: len(data)}
}

func imageConfig(layerDigest string) map[string]any {
	return map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"config": map[string]any{
			"Env":        []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			"Entrypoint": []string{"/bin/busybox"},
			"Cmd":        []string{"sh"},
			"WorkingDir": "/",
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
		"history": []map[string]string{{"created_by": "internal/testimage"}},
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps, slices and strings: cannot fail
	}
	return b
}

// rootfsLayer returns an uncompressed tar of a minimal root filesystem around busybox.
func rootfsLayer(busybox string) ([]byte, error) {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	applets, err := listApplets(busybox)
	if err != nil {
		return nil, err
	}
	w := newTarWriter()
	for _, dir := range []string{"bin/", "dev/", "etc/", "proc/", "root/", "sys/", "tmp/", "var/", "var/www/"} {
		w.dir(dir)
	}
	w.file("bin/busybox", 0o755, bin)
	for _, a := range applets {
		w.symlink("bin/"+a, "busybox")
	}
	w.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"))
	w.file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	return w.close()
}

func listApplets(busybox string) ([]string, error) {
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !strings.Contains(a, "/") {
			applets = append(applets, a)
		}
	}
	return applets, nil
}

// tarWriter writes deterministic entries (owner 0, time 0) and keeps the first error.
type tarWriter struct {
	buf bytes.Buffer
	tw  *tar.Writer
	err error
}

func newTarWriter() *tarWriter {
	w := &tarWriter{}
	w.tw = tar.NewWriter(&w.buf)
	return w
}

func (w *tarWriter) header(h *tar.Header) {
	h.ModTime = time.Unix(0, 0)
	h.Format = tar.FormatUSTAR
	if w.err == nil {
		w.err = w.tw.WriteHeader(h)
	}
}

func (w *tarWriter) dir(name string) {
	mode := int64(0o755)
	switch name {
	case "tmp/":
		mode = 0o1777
	case "root/":
		mode = 0o700
	}
	w.header(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode})
}

func (w *tarWriter) file(name string, mode int64, data []byte) {
	w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))})
	if w.err == nil {
		_, w.err = w.tw.Write(data)
	}
}

func (w *tarWriter) symlink(name, target string) {
	w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
}

func (w *tarWriter) close() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	if err := w.tw.Close(); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// writeLayout writes the oci-layout tar: oci-layout, index.json and blobs/sha256/<hex>.
func writeLayout(path string, index []byte, blobs map[string][]byte) error {
	w := newTarWriter()
	w.file("oci-layout", 0o644, []byte(`{"imageLayoutVersion":"1.0.0"}`))
	w.file("index.json", 0o644, index)
	w.dir("blobs/")
	w.dir("blobs/sha256/")
	for _, digest := range slices.Sorted(maps.Keys(blobs)) {
		w.file("blobs/sha256/"+strings.TrimPrefix(digest, "sha256:"), 0o644, blobs[digest])
	}
	return writeTar(path, w)
}

// writeTar closes w and writes its archive at path.
func writeTar(path string, w *tarWriter) error {
	data, err := w.close()
	if err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write archive: %w", err)
	}
	return nil
}
