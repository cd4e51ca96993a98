// Package testenv gives tests the machine's containerd in a namespace of their own, or skips them.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
)

const (
	// EnvRequire makes a missing containerd or missing root a failure instead of a skip (CI sets it).
	EnvRequire = "GITFLEET_REQUIRE_CONTAINERD"
	// EnvAddress overrides DefaultAddress.
	EnvAddress = "GITFLEET_CONTAINERD_ADDRESS"
	// DefaultAddress is containerd's default socket.
	DefaultAddress = "/run/containerd/containerd.sock"
)

// RequireContainerd returns the address of a reachable containerd socket, or skips t (fails it when
// GITFLEET_REQUIRE_CONTAINERD=1) when the test is not root or there is no socket. Under -short it
// always skips.
func RequireContainerd(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs containerd; skipped under -short")
	}
	RequireRoot(t)
	addr := os.Getenv(EnvAddress)
	if addr == "" {
		addr = DefaultAddress
	}
	fi, err := os.Stat(addr)
	if err == nil && fi.Mode()&os.ModeSocket == 0 {
		err = fmt.Errorf("%s is not a socket", addr)
	}
	if err != nil {
		unavailable(t, fmt.Sprintf("needs containerd at %s: %v", addr, err))
	}
	return addr
}

// RequireRoot skips t (fails it when GITFLEET_REQUIRE_CONTAINERD=1) unless the test runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "needs root")
	}
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s (and %s=1)", why, EnvRequire)
	}
	t.Skipf("%s; set %s=1 to make this a failure", why, EnvRequire)
}

// Namespace returns a fresh containerd namespace name ("gitfleet-test-<random>") and registers a
// cleanup that deletes every task, container, image and finally the namespace itself.
func Namespace(t testing.TB, address string) string {
	t.Helper()
	ns := "gitfleet-test-" + randomHex(4)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := WipeNamespace(ctx, address, ns); err != nil {
			t.Errorf("wipe containerd namespace %s: %v", ns, err)
		}
	})
	return ns
}

// WipeNamespace kills and deletes everything in containerd namespace ns, then deletes ns.
func WipeNamespace(ctx context.Context, address, ns string) error {
	c, err := client.New(address, client.WithDefaultNamespace(ns))
	if err != nil {
		return fmt.Errorf("connect containerd: %w", err)
	}
	defer c.Close()
	ctx = namespaces.WithNamespace(ctx, ns)
	cs, err := c.Containers(ctx)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, ctr := range cs {
		errs = append(errs, deleteContainer(ctx, c, ctr))
	}
	errs = append(errs, deleteLeases(ctx, c), deleteImages(ctx, c), deleteNamespace(ctx, c, ns), forgetNamespace(ns))
	return errors.Join(errs...)
}

func deleteContainer(ctx context.Context, c *client.Client, ctr client.Container) error {
	if task, err := ctr.Task(ctx, nil); err == nil {
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete task %s: %w", ctr.ID(), err)
		}
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete container %s: %w", ctr.ID(), err)
	}
	return nil
}

// deleteLeases deletes the leases left in the namespace: an import or pull cut short by a
// signal leaves its lease (it expires after a day), and what it holds keeps the namespace from
// being deleted.
func deleteLeases(ctx context.Context, c *client.Client) error {
	ls, err := c.LeasesService().List(ctx)
	if err != nil {
		return fmt.Errorf("list leases: %w", err)
	}
	for _, l := range ls {
		if err := c.LeasesService().Delete(ctx, l, leases.SynchronousDelete); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete lease %s: %w", l.ID, err)
		}
	}
	return nil
}

func deleteImages(ctx context.Context, c *client.Client) error {
	imgs, err := c.ImageService().List(ctx)
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	for _, img := range imgs {
		if err := c.ImageService().Delete(ctx, img.Name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("delete image %s: %w", img.Name, err)
		}
	}
	return nil
}

// deleteNamespace retries while containerd's garbage collector is still removing content.
func deleteNamespace(ctx context.Context, c *client.Client, ns string) error {
	var err error
	for range 50 {
		if err = c.NamespaceService().Delete(ctx, ns); err == nil || errdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("delete namespace: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("delete namespace: %w", err)
}

// runcRoot is where runc keeps the state of tasks, one directory per containerd namespace
// (whatever the daemon), which neither removes when the namespace goes.
const runcRoot = "/run/containerd/runc"

// forgetNamespace removes what runc made for containerd namespace ns outside containerd, left
// empty once its tasks are deleted: its state directory and the parent cgroup of its tasks
// (containerd's default cgroup path is /<namespace>/<container>), in each cgroup v1 hierarchy
// or the v2 one.
func forgetNamespace(ns string) error {
	dirs := []string{filepath.Join(runcRoot, ns), filepath.Join("/sys/fs/cgroup", ns)}
	v1, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", ns))
	var errs []error
	for _, dir := range append(dirs, v1...) {
		if err := removeEmptyDir(dir); err != nil {
			errs = append(errs, fmt.Errorf("forget namespace %s: %w", ns, err))
		}
	}
	return errors.Join(errs...)
}

// removeEmptyDir removes dir, if it exists, retrying for a second while it is busy: the kernel
// frees a cgroup a moment after its last process exits.
func removeEmptyDir(dir string) error {
	var err error
	for range 20 {
		err = os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
