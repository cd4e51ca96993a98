package containerd

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/core/remotes/docker"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logs"
)

// TestContainerdPull pushes the busybox image to a registry on loopback and runs a Pod whose
// image the runtime has to pull from it over plain HTTP.
func TestContainerdPull(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	registry := testenv.RequireRegistry(t)
	if !netnstest.Run(t) {
		return
	}
	host := testenv.StartRegistry(t, registry)
	rt := testRuntime(t, addr)
	cfg := rt.cfg
	ctx := rt.ns(t.Context())

	ref := host + "/gitfleet/busybox:1"
	pushBusybox(t, rt, ref, registryAuth{})

	pod := commandPod("pulled", api.RestartNever, "echo pulled from registry")
	pod.Spec.Containers[0].Image = ref
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatalf("ensure pod with a pulled image: %v", err)
	}
	if _, err := rt.client.GetImage(ctx, ref); err != nil {
		t.Fatalf("image not in containerd after pull: %v", err)
	}
	waitFor(t, 20*time.Second, "pod completes", func() error {
		sbs, err := rt.List(ctx)
		if err != nil {
			return err
		}
		if st := nodeagent.StatusOf(pod, sbs); st.Phase != api.PodSucceeded {
			return fmt.Errorf("phase %s: %s", st.Phase, st.Message)
		}
		return nil
	})
	out, err := os.ReadFile(logs.Path(cfg.DataDir, api.PodKeyOf(pod), "main"))
	if err != nil || !strings.Contains(string(out), "pulled from registry") {
		t.Fatalf("log %q, %v", out, err)
	}
}

// pushBusybox imports the busybox image, pushes it to ref with creds and deletes it from the
// runtime's namespace, so that a Pod of ref has to pull it.
func pushBusybox(t *testing.T, rt *Runtime, ref string, creds registryAuth) {
	t.Helper()
	ctx := rt.ns(t.Context())
	if _, err := rt.ImportArchive(ctx, testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatal(err)
	}
	img, err := rt.client.GetImage(ctx, testimage.Ref)
	if err != nil {
		t.Fatal(err)
	}
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchLocalhost),
			docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(creds.lookup)))),
	})
	if err := rt.client.Push(ctx, ref, img.Target(), client.WithResolver(resolver)); err != nil {
		t.Fatalf("push: %v", err)
	}
	if err := rt.client.ImageService().Delete(ctx, testimage.Ref, images.SynchronousDelete()); err != nil {
		t.Fatal(err)
	}
}
