package containerd

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// TestContainerdImportShortNames imports an OCI and a docker archive whose images have short
// names, and runs Pods naming them as a manifest does, in a network namespace with no route
// out: both must be found under the normalised name, with no pull, and each Pod's status names
// the digest it runs.
func TestContainerdImportShortNames(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)
	ctx := rt.ns(t.Context())

	dir := t.TempDir()
	archives := []struct{ kind, ref, want string }{
		{"oci", "acme/app:1", "docker.io/acme/app:1"},
		{"docker", "acme/tool:2", "docker.io/acme/tool:2"},
	}
	for _, a := range archives {
		path := filepath.Join(dir, a.kind+".tar")
		build := map[string]func(string, string) error{"oci": testimage.Build, "docker": testimage.BuildDocker}[a.kind]
		if err := build(path, a.ref); err != nil {
			t.Fatal(err)
		}
		names, err := rt.ImportArchive(ctx, path)
		if err != nil || !slices.Equal(names, []string{a.want}) {
			t.Fatalf("import %s archive of %s: %q, %v; want [%s]", a.kind, a.ref, names, err, a.want)
		}
		if _, err := rt.client.GetImage(ctx, a.ref); err == nil {
			t.Errorf("%s archive: short name %s kept beside %s", a.kind, a.ref, a.want)
		}
	}
	for _, a := range archives {
		pod := commandPod(a.kind, api.RestartNever, "echo ran")
		pod.Spec.Containers[0].Image = a.ref
		if _, err := rt.EnsurePod(ctx, pod); err != nil {
			t.Fatalf("ensure pod of %s without network: %v", a.ref, err)
		}
		img, err := rt.client.GetImage(ctx, a.want)
		if err != nil {
			t.Fatal(err)
		}
		wantID := strings.TrimSuffix(a.want, a.ref[strings.Index(a.ref, ":"):]) + "@" + img.Target().Digest.String()
		waitFor(t, 20*time.Second, a.kind+" pod succeeds", func() error {
			sbs, err := rt.List(ctx)
			if err != nil {
				return err
			}
			st := nodeagent.StatusOf(pod, sbs)
			if st.Phase != api.PodSucceeded {
				return fmt.Errorf("phase %s: %s", st.Phase, st.Message)
			}
			if got := st.ContainerStatuses[0].ImageID; got != wantID {
				t.Fatalf("imageID %q, want %q", got, wantID)
			}
			return nil
		})
	}
}

// TestContainerdPullNever asks for an image the node does not have under imagePullPolicy Never:
// the Pod fails to start with reason ErrImageNeverPull, and no pull is tried.
func TestContainerdPullNever(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	rt := testRuntime(t, addr)

	pod := commandPod("never", api.RestartNever, "true")
	pod.Spec.Containers[0].Image = "acme/absent:1"
	pod.Spec.Containers[0].ImagePullPolicy = api.PullNever
	_, err := rt.EnsurePod(t.Context(), pod)
	var re *nodeagent.RefusedError
	if !errors.As(err, &re) || re.Reason != api.ReasonErrImageNeverPull {
		t.Fatalf("ensure pod: %v; want reason %s", err, api.ReasonErrImageNeverPull)
	}
	if !strings.Contains(re.Message, "docker.io/acme/absent:1") {
		t.Errorf("message %q does not name the image", re.Message)
	}
	if sbs, err := rt.List(t.Context()); err != nil || len(sbs) != 0 {
		t.Errorf("after a refused image: %v, %v; want nothing", sbs, err)
	}
}
