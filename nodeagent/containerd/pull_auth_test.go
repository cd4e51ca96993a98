package containerd

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// TestContainerdPullAuth pulls from a registry that wants a password: without credentials the
// Pod fails with ErrImagePull; with the docker config.json the agent is given, it runs.
func TestContainerdPullAuth(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	registry := testenv.RequireRegistry(t)
	if !netnstest.Run(t) {
		return
	}
	host := testenv.StartRegistryAuth(t, registry, "ci", "s3cret")
	authFile := filepath.Join(t.TempDir(), "config.json")
	cfg := Config{Address: addr, Namespace: testenv.Namespace(t, addr), NodeName: "node-a",
		DataDir: filepath.Join(t.TempDir(), "data"), StopTimeout: time.Second, RegistryConfig: authFile}
	rt := newTestRuntime(t, cfg)
	t.Cleanup(func() { removeAll(t, rt) })
	ctx := t.Context()

	ref := host + "/private/busybox:1"
	pushBusybox(t, rt, ref, registryAuth{host: {"ci", "s3cret"}})
	pod := commandPod("private", api.RestartNever, "echo private")
	pod.Spec.Containers[0].Image = ref

	writeAuth := func(user, pass string) {
		auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		data := fmt.Sprintf(`{"auths": {"http://%s/v2/": {"auth": %q}}}`, host, auth)
		if err := os.WriteFile(authFile, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeAuth("ci", "wrong")
	_, err := rt.EnsurePod(ctx, pod)
	var re *nodeagent.RefusedError
	if !errors.As(err, &re) || re.Reason != api.ReasonErrImagePull {
		t.Fatalf("ensure pod with a wrong password: %v; want reason %s", err, api.ReasonErrImagePull)
	}
	writeAuth("ci", "s3cret") // read at the next pull: no restart
	if _, err := rt.EnsurePod(ctx, pod); err != nil {
		t.Fatalf("ensure pod with credentials: %v", err)
	}
	waitFor(t, 20*time.Second, "pod completes", func() error {
		sbs, err := rt.List(ctx)
		if err != nil {
			return err
		}
		st := nodeagent.StatusOf(pod, sbs)
		if st.Phase != api.PodSucceeded {
			return fmt.Errorf("phase %s: %s", st.Phase, st.Message)
		}
		if id := st.ContainerStatuses[0].ImageID; !strings.HasPrefix(id, host+"/private/busybox@sha256:") {
			t.Fatalf("imageID %q", id)
		}
		return nil
	})
}

func TestParseRegistryAuth(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	data := fmt.Sprintf(`{"auths": {
		"https://index.docker.io/v1/": {"auth": %q},
		"127.0.0.1:5000": {"username": "u", "password": "p:w"},
		"http://reg.example:8080/v2/": {"auth": %q}
	}, "credsStore": "ignored"}`, b64("hub:pw"), b64("a:b:c"))
	got, err := parseRegistryAuth([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := registryAuth{"registry-1.docker.io": {"hub", "pw"}, "127.0.0.1:5000": {"u", "p:w"}, "reg.example:8080": {"a", "b:c"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parsed %v, want %v", got, want)
	}
	if u, p, _ := got.lookup("other:1"); u != "" || p != "" {
		t.Errorf("unknown host gave %q %q", u, p)
	}
	for _, bad := range []string{`{"auths": {"h": {"auth": "%%%"}}}`, `{"auths": {"h": {"auth": "` + b64("nocolon") + `"}}}`, `[`} {
		if _, err := parseRegistryAuth([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
