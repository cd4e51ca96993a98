package api

import (
	"strings"
	"testing"
)

func TestValidateSetDuplicates(t *testing.T) {
	pod := func(ns string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: " + ns + "\nspec:\n  containers: [{name: c, image: i}]\n"
	}
	a := mustDecodeOne(t, "a.yaml", pod("default"))
	b := mustDecodeOne(t, "b/b.yaml", "# comment\n"+pod(`""`)) // empty namespace means default
	c := mustDecodeOne(t, "c.yaml", pod("other"))
	dep := mustDecodeOne(t, "d.yaml", validDeployment)
	other, prod := mustDecodeOne(t, "ns.yaml", namespace("other")), mustDecodeOne(t, "ns.yaml", privilegedNamespace("prod"))
	assertErrors(t, ValidateSet([]Decoded{a, c, dep, b, other, prod}), []string{
		"b/b.yaml:5: metadata.name: duplicate Pod default/web: also defined at a.yaml:4",
	})
	if errs := ValidateSet([]Decoded{a, c, dep, other, prod}); len(errs) != 0 {
		t.Errorf("distinct objects: %v", errs)
	}
}

func TestLoadSet(t *testing.T) {
	files := map[string][]byte{
		"z/pod.yaml":     []byte(validPod),
		"a/prod.yaml":    []byte(privilegedNamespace("prod")),
		"a/default.yaml": []byte(privilegedNamespace("default")), // validPod uses hostNetwork
		"a/deploy.yml":   []byte(validDeployment),
		"notes.txt":      []byte("not: [yaml"),
		"b/bad.json":     []byte(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad"}, "spec": {"containers": []}}`),
		"b/unknown.yaml": []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containerz: []\n"),
		"c/dup.yaml":     []byte(strings.Replace(validPod, "restartPolicy: OnFailure", "restartPolicy: Always", 1)),
		"c/empty.yaml":   []byte("# nothing yet\n"),
	}
	ds, errs := LoadSet(files)
	assertErrors(t, errs, []string{
		`b/bad.json:1: metadata.name: invalid name "Bad": use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
		`b/bad.json:1: spec.containers: at least one container is required`,
		`b/unknown.yaml:5: spec.containerz: unknown field`,
		`z/pod.yaml:4: metadata.name: duplicate Pod default/once.v1: also defined at c/dup.yaml:4`,
	})
	var order []string
	for _, d := range ds {
		order = append(order, d.File)
	}
	if got := strings.Join(order, " "); got != "a/default.yaml a/deploy.yml a/prod.yaml b/bad.json c/dup.yaml z/pod.yaml" {
		t.Errorf("objects in order %s", got)
	}
	// LoadSet defaults what it returns.
	if p := ds[5].Object.(*Pod); p.Metadata.Namespace != DefaultNamespace {
		t.Errorf("not defaulted: %+v", p.Metadata)
	}
	if err := Errors(errs); err == nil || strings.Count(err.Error(), "\n") != 3 {
		t.Errorf("Errors() = %v", err)
	}
	if Errors(nil) != nil {
		t.Errorf("Errors(nil) must be nil")
	}
}

func namespace(name string) string {
	return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n"
}

// privilegedNamespace is a Namespace whose Pods may use host access.
func privilegedNamespace(name string) string {
	return namespace(name) + "  labels:\n    " + LabelPodSecurityEnforce + ": " + PodSecurityPrivileged + "\n"
}

// TestValidateSetHostAccess refuses hostNetwork and hostPort outside a Namespace labelled
// privileged, the default namespace included, at the line of the field.
func TestValidateSetHostAccess(t *testing.T) {
	hostNet := func(ns string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: h\n  namespace: " + ns +
			"\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: i}]\n"
	}
	hostPort := func(ns string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: " + ns +
			"\nspec:\n  containers:\n  - name: c\n    image: i\n    ports: [{containerPort: 80, hostPort: 8080}]\n"
	}
	plain, priv := mustDecodeOne(t, "ns.yaml", namespace("plain")), mustDecodeOne(t, "ns.yaml", privilegedNamespace("priv"))
	assertErrors(t, ValidateSet([]Decoded{plain, priv,
		mustDecodeOne(t, "a.yaml", hostNet("plain")),
		mustDecodeOne(t, "b.yaml", hostPort("default")),
		mustDecodeOne(t, "c.yaml", hostNet("priv")),
		mustDecodeOne(t, "d.yaml", hostPort("priv")),
	}), []string{
		"a.yaml:7: spec.hostNetwork: hostNetwork needs namespace plain labelled pod-security.kubernetes.io/enforce: privileged",
		"b.yaml:10: spec.containers[0].ports[0].hostPort: hostPort needs namespace default labelled pod-security.kubernetes.io/enforce: privileged",
	})
	def := mustDecodeOne(t, "ns.yaml", privilegedNamespace("default"))
	if errs := ValidateSet([]Decoded{def, mustDecodeOne(t, "b.yaml", hostPort("default"))}); len(errs) != 0 {
		t.Errorf("a privileged default namespace: %v", errs)
	}
}

func TestIsManifestFile(t *testing.T) {
	for name, want := range map[string]bool{
		"a.yaml": true, "a/b.yml": true, "c.json": true, "UP.YAML": true,
		"a.yaml.bak": false, "README.md": false, "yaml": false, ".yaml/x": false,
	} {
		if got := IsManifestFile(name); got != want {
			t.Errorf("IsManifestFile(%q) = %v", name, got)
		}
	}
}
