package containerd

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
)

// TestContainerdImageGC collects images with the threshold passed: a pulled image no container
// uses goes, while a pulled image a Pod runs and an imported image stay.
func TestContainerdImageGC(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	registry := testenv.RequireRegistry(t)
	if !netnstest.Run(t) {
		return
	}
	host := testenv.StartRegistry(t, registry)
	cfg := Config{Address: addr, Namespace: testenv.Namespace(t, addr), NodeName: "node-a",
		DataDir: filepath.Join(t.TempDir(), "data"), StopTimeout: time.Second,
		ImageGCHighPercent: -1, LogCheckInterval: time.Hour} // collected by the test only
	rt := newTestRuntime(t, cfg)
	t.Cleanup(func() { removeAll(t, rt) })
	ctx := rt.ns(t.Context())

	used, unused := host+"/gc/used:1", host+"/gc/unused:1"
	pushBusybox(t, rt, used, registryAuth{})
	pushBusybox(t, rt, unused, registryAuth{})
	importBusybox(t, rt)
	for name, ref := range map[string]string{"used": used, "unused": unused} {
		pod := commandPod(name, api.RestartAlways, "exec sleep 3600")
		pod.Spec.Containers[0].Image = ref
		if _, err := rt.EnsurePod(ctx, pod); err != nil {
			t.Fatal(err)
		}
		if ref == unused {
			if err := rt.RemovePod(ctx, api.PodKeyOf(pod)); err != nil {
				t.Fatal(err)
			}
		}
	}
	removed, err := rt.collectImages(ctx)
	if err != nil || !slices.Equal(removed, []string{unused}) {
		t.Fatalf("collected %q, %v; want [%s]", removed, err, unused)
	}
	for _, ref := range []string{used, testimage.Ref} {
		if _, err := rt.client.GetImage(ctx, ref); err != nil {
			t.Errorf("image %s collected: %v", ref, err)
		}
	}
}
