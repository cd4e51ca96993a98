package testenv_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
)

// TestWipeNamespaceLeftLease wipes a namespace where an import was cut short: its lease still
// holds the image's content, which would keep the namespace from being deleted.
func TestWipeNamespaceLeftLease(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	ns := testenv.Namespace(t, addr)
	archive := testimage.BuildBusybox(t, t.TempDir())
	c, err := client.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), time.Minute)
	defer cancel()
	ctx, _, err = c.WithLease(ctx) // never done: as an import whose process was killed
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := c.Import(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WipeNamespace(context.Background(), addr, ns); err != nil {
		t.Fatalf("wipe: %v", err)
	}
	nss, err := c.NamespaceService().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nss {
		if n == ns {
			t.Fatalf("namespace %s is still there", ns)
		}
	}
}
