package containerd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
)

func TestContainerEnv(t *testing.T) {
	c := api.Container{
		EnvFrom: []api.EnvFromSource{
			{ConfigMapRef: &api.ConfigMapEnvSource{Name: "base"}},
			{Prefix: "P_", ConfigMapRef: &api.ConfigMapEnvSource{Name: "base"}},
			{ConfigMapRef: &api.ConfigMapEnvSource{Name: "absent", Optional: true}},
		},
		Env: []api.EnvVar{
			{Name: "LITERAL", Value: "1"},
			{Name: "B", Value: "override"},
			{Name: "FROM", ValueFrom: fixture.KeyRef("base", "a", false)},
			{Name: "NOKEY", ValueFrom: fixture.KeyRef("base", "zzz", true)},
			{Name: "NOMAP", ValueFrom: fixture.KeyRef("absent", "a", true)},
		},
	}
	cms := nodeagent.ConfigMaps{"base": fixture.ConfigMap("default", "base", map[string]string{"b": "2", "a": "1", "B": "3"})}
	want := []string{"B=override", "a=1", "b=2", "P_B=3", "P_a=1", "P_b=2", "LITERAL=1", "FROM=1"}
	if got := containerEnv(c, cms); !slices.Equal(got, want) {
		t.Fatalf("env\n%q\nwant\n%q", got, want)
	}
}

func TestVolumeFiles(t *testing.T) {
	cm := fixture.ConfigMap("default", "app", map[string]string{"a": "1", "b": "2"})
	all := volumeFiles(&api.ConfigMapVolumeSource{Name: "app"}, cm)
	items := volumeFiles(&api.ConfigMapVolumeSource{Name: "app", Optional: true,
		Items: []api.KeyToPath{{Key: "b", Path: "x/b.txt"}, {Key: "missing", Path: "m"}}}, cm)
	none := volumeFiles(&api.ConfigMapVolumeSource{Name: "absent", Optional: true}, nil)
	if len(all) != 2 || all["a"] != "1" || len(items) != 1 || items["x/b.txt"] != "2" || len(none) != 0 {
		t.Fatalf("all %v, items %v, none %v", all, items, none)
	}
}

func TestWriteVolumesAndMounts(t *testing.T) {
	c := &Runtime{cfg: Config{DataDir: t.TempDir()}}
	pod := fixture.ConfigPod("web", testimage.Ref)
	pod.Spec.Volumes = append(pod.Spec.Volumes, api.Volume{Name: "whole",
		ConfigMap: &api.ConfigMapVolumeSource{Name: "app"}})
	pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
		api.VolumeMount{Name: "whole", MountPath: "/etc/greeting", SubPath: "greeting"},
		api.VolumeMount{Name: "whole", MountPath: "/etc/later", SubPath: "later"})
	cms := nodeagent.ConfigMaps{"app": fixture.ConfigMap("default", "app", map[string]string{"greeting": "hello", "message": "hi\n"})}
	if err := c.writeVolumes(pod, cms); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(c.cfg.DataDir, "pods", "default_web", "volumes")
	for rel, want := range map[string]string{"cfg/conf/message": "hi\n", "whole/greeting": "hello", "whole/message": "hi\n"} {
		p := filepath.Join(vol, rel)
		b, err := os.ReadFile(p)
		fi, serr := os.Stat(p)
		if err != nil || serr != nil || string(b) != want || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %q, %v, mode %v; want %q, 0644", rel, b, err, fi.Mode(), want)
		}
	}
	if fi, err := os.Stat(filepath.Join(vol, "cfg", "conf")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("volume directory: %v, %v", fi, err)
	}
	if err := c.writeVolumes(pod, cms); err != nil { // idempotent, and leaves no temporary files
		t.Fatal(err)
	}
	if tmp, _ := filepath.Glob(filepath.Join(vol, "whole", ".tmp-*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %q", tmp)
	}
	checkMounts(t, c, pod, vol)
	if err := c.removeVolumes(api.PodKeyOf(pod)); err != nil || fileExists(filepath.Join(c.cfg.DataDir, "pods", "default_web")) {
		t.Fatalf("remove volumes: %v", err)
	}
	if err := writeFiles(t.TempDir(), map[string]string{"../escape": "x"}); err == nil {
		t.Error("a file outside the volume was written")
	}
}

func checkMounts(t *testing.T, c *Runtime, pod *api.Pod, vol string) {
	t.Helper()
	mounts, err := c.volumeMounts(pod, pod.Spec.Containers[0])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mounts {
		got = append(got, m.Destination+"<-"+strings.TrimPrefix(m.Source, vol)+" "+m.Type+" "+strings.Join(m.Options, ","))
	}
	want := []string{"/etc/cfg<-/cfg bind rbind,ro", "/etc/greeting<-/whole/greeting bind rbind,ro",
		"/etc/later<-/whole/later bind rbind,ro"}
	if !slices.Equal(got, want) {
		t.Fatalf("mounts\n%q\nwant\n%q", got, want)
	}
	if fi, err := os.Stat(filepath.Join(vol, "whole", "later")); err != nil || !fi.IsDir() {
		t.Errorf("missing subPath not created as a directory: %v", err)
	}
	bad := api.Clone(pod).(*api.Pod)
	bad.Spec.Containers[0].VolumeMounts[0].Name = "undeclared"
	if _, err := c.volumeMounts(bad, bad.Spec.Containers[0]); err == nil {
		t.Error("mount of an undeclared volume accepted")
	}
}

// TestVolumePathsStayInside checks the paths of volumes where they are used, whatever the Pod's
// validation said: a volume name that climbs out of the Pod's directory, and a file or subPath
// that leaves the volume through a symlink, are refused, and nothing is made outside.
func TestVolumePathsStayInside(t *testing.T) {
	c := &Runtime{cfg: Config{DataDir: t.TempDir()}}
	outside := t.TempDir()
	pod := fixture.ConfigPod("web", testimage.Ref)
	pod.Spec.Volumes = []api.Volume{{Name: "../../../..", ConfigMap: &api.ConfigMapVolumeSource{Name: "app"}}}
	pod.Spec.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "../../../..", MountPath: "/host"}}
	cms := nodeagent.ConfigMaps{"app": fixture.ConfigMap("default", "app", map[string]string{"k": "v"})}
	if err := checkPathNames(pod); err == nil || !strings.Contains(err.Error(), `volume name "../../../.." would leave its directory`) {
		t.Errorf("checkPathNames = %v", err)
	}
	if err := c.writeVolumes(pod, cms); err == nil {
		t.Error("wrote a volume named ../../../..")
	}
	if _, err := c.volumeMounts(pod, pod.Spec.Containers[0]); err == nil {
		t.Error("mounted a volume named ../../../..")
	}

	vol, err := c.volumeDir(api.PodKeyOf(pod), "v")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(vol, "link")); err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(vol, map[string]string{"link/x": "escaped"}); err == nil || fileExists(filepath.Join(outside, "x")) {
		t.Errorf("writeFiles through a symlink out of the volume: %v", err)
	}
	for _, sub := range []string{"link", "link/etc", "../v/link"} {
		m := api.VolumeMount{Name: "v", MountPath: "/x", SubPath: sub}
		if src, err := c.mountSource(api.PodKeyOf(pod), m); err == nil {
			t.Errorf("subPath %s: mounts %s", sub, src)
		}
	}
	if fileExists(filepath.Join(outside, "etc")) {
		t.Error("a subPath directory was made outside the volume")
	}
}
