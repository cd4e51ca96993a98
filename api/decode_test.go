package api

import (
	"strings"
	"testing"
)

// mustDecodeOne decodes src as file and fails unless it holds exactly one valid object.
func mustDecodeOne(t *testing.T, file, src string) Decoded {
	t.Helper()
	ds, errs := Decode(file, []byte(src))
	if len(errs) > 0 || len(ds) != 1 {
		t.Fatalf("Decode(%s) = %d objects, errors %v; want 1 object", file, len(ds), errs)
	}
	return ds[0]
}

func TestDecodeGoodMultiDoc(t *testing.T) {
	src := `# leading comment
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: busybox
          ports:
            - containerPort: 8080
---
---
# only a comment
---
apiVersion: v1
kind: Pod
metadata: {name: solo, namespace: jobs}
spec:
  containers: [{name: main, image: busybox, args: ["echo", "hi"]}]
...
`
	ds, errs := Decode("apps.yaml", []byte(src))
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if len(ds) != 2 {
		t.Fatalf("got %d objects, want 2", len(ds))
	}
	d, ok := ds[0].Object.(*Deployment)
	if !ok || d.Metadata.Name != "web" || *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort != 8080 {
		t.Errorf("deployment decoded wrong: %+v", ds[0].Object)
	}
	if ds[0].Line != 4 || ds[0].File != "apps.yaml" || ds[0].Source() != "apps.yaml:4" {
		t.Errorf("deployment at %s:%d, want apps.yaml:4", ds[0].File, ds[0].Line)
	}
	p, ok := ds[1].Object.(*Pod)
	if !ok || p.Metadata.Namespace != "jobs" || p.Spec.Containers[0].Args[1] != "hi" || p.Kind != KindPod || p.APIVersion != "v1" {
		t.Errorf("pod decoded wrong: %+v", ds[1].Object)
	}
	if ds[1].Line != 25 {
		t.Errorf("pod at line %d, want 25", ds[1].Line)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, src := range []string{"", "\n\n", "# nothing\n", "---\n", "---\n---\n# c\n", "~\n", "--- null\n"} {
		ds, errs := Decode("empty.yaml", []byte(src))
		if len(ds) != 0 || len(errs) != 0 {
			t.Errorf("Decode(%q) = %v, %v; want nothing", src, ds, errs)
		}
	}
}

func TestLineOf(t *testing.T) {
	d := mustDecodeOne(t, "web.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: busybox
          resources:
            limits:
              cpu: 100m
`)
	for path, want := range map[string]int{
		"":              2,
		"kind":          2,
		"metadata.name": 4,
		"metadata.labels[app.kubernetes.io/name]":                6,
		"spec.selector.matchLabels[app]":                         9,
		"spec.template.spec.containers[0]":                       15,
		"spec.template.spec.containers[0].image":                 16,
		"spec.template.spec.containers[0].resources.limits[cpu]": 19,
		// Absent paths fall back to the nearest present parent, then the object's line.
		"spec.replicas":                                  7,
		"spec.template.spec.restartPolicy":               13,
		"spec.template.spec.containers[0].ports[0].name": 15,
		"nosuch": 2,
	} {
		if got := d.LineOf(path); got != want {
			t.Errorf("LineOf(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	const pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: busybox\n"
	tests := []struct {
		name, file, src string
		want            []string // rendered errors, in order
	}{
		{"unknown field deep", "deploy/web.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: busybox
          stdin: true
`, []string{"deploy/web.yaml:15: spec.template.spec.containers[0].stdin: unknown field"}},
		{"unknown top-level field", "p.yaml", pod + "extra: 1\n",
			[]string{"p.yaml:9: extra: unknown field"}},
		{"case typo gets a hint", "p.yaml", strings.Replace(pod, "metadata:\n  name", "metadata:\n  Name", 1),
			[]string{`p.yaml:4: metadata.Name: unknown field; did you mean "name"?`, "p.yaml:4: metadata.Name: unknown field"}[:1]},
		{"string for int", "p.yaml", pod + "      ports:\n        - containerPort: \"80\"\n",
			[]string{`p.yaml:10: spec.containers[0].ports[0].containerPort: expected an integer, got string "80"`}},
		{"float for int", "p.yaml", pod + "      ports:\n        - containerPort: 80.5\n",
			[]string{`p.yaml:10: spec.containers[0].ports[0].containerPort: expected an integer, got number 80.5`}},
		{"int out of range", "p.yaml", pod + "      ports:\n        - containerPort: 4294967296\n",
			[]string{`p.yaml:10: spec.containers[0].ports[0].containerPort: integer 4294967296 is out of range for 32 bits`}},
		{"bool for string", "p.yaml", pod + "      env:\n        - {name: A, value: yes}\n        - {name: B, value: false}\n",
			[]string{`p.yaml:10: spec.containers[0].env[0].value: expected a string; "yes" is a boolean in YAML 1.1 (which Kubernetes' parser follows): quote it: "yes"`,
				`p.yaml:11: spec.containers[0].env[1].value: expected a string, got boolean false; quote it: "false"`}},
		{"object for string", "p.yaml", pod + "      command:\n        - {a: b}\n",
			[]string{`p.yaml:10: spec.containers[0].command[0]: expected a string, got an object`}},
		{"scalar for list", "p.yaml", pod + "      args: echo\n",
			[]string{`p.yaml:9: spec.containers[0].args: expected a list, got string "echo"`}},
		{"duplicate field", "p.yaml", pod + "      image: alpine\n",
			[]string{`p.yaml:9: spec.containers[0].image: duplicate key; first set on line 8`}},
		{"duplicate map key", "p.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    a: x\n    a: y\n",
			[]string{`p.yaml:7: metadata.labels[a]: duplicate key; first set on line 6`}},
		{"merge key", "p.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n    <<: {a: b}\n",
			[]string{`p.yaml:6: metadata.labels: keys must be plain strings; merge keys (<<), null and complex keys are not supported`}},
		{"status forbidden", "p.yaml", pod + "status: {phase: Running}\n",
			[]string{`p.yaml:9: status: status is observed by the node agent and cannot be set in a manifest`}},
		{"missing kind", "x.yaml", "apiVersion: v1\nmetadata: {name: x}\n",
			[]string{`x.yaml:1: kind: missing kind; gitfleet reads ConfigMap (v1), Deployment (apps/v1), Namespace (v1), Pod (v1) and Service (v1)`}},
		{"unknown kind", "x.yaml", "apiVersion: v1\nkind: StatefulSet\n",
			[]string{`x.yaml:2: kind: unknown kind "StatefulSet"; gitfleet reads ConfigMap (v1), Deployment (apps/v1), Namespace (v1), Pod (v1) and Service (v1)`}},
		{"kind not a string", "x.yaml", "apiVersion: v1\nkind: [Pod]\n",
			[]string{`x.yaml:2: kind: kind must be a non-empty string`}},
		{"wrong apiVersion", "x.yaml", "apiVersion: extensions/v1beta1\nkind: Deployment\n",
			[]string{`x.yaml:1: apiVersion: apiVersion "extensions/v1beta1" does not serve kind Deployment; use apps/v1`}},
		{"missing apiVersion", "x.yaml", "kind: Pod\n",
			[]string{`x.yaml:1: apiVersion: missing apiVersion; Pod is v1`}},
		{"not a mapping", "x.yaml", "just a string\n",
			[]string{`x.yaml:1: a manifest must be an object with apiVersion and kind, not string "just a string"`}},
		{"syntax error keeps earlier docs", "x.yaml", pod + "---\nkind: Pod\n  bad: indent\n",
			[]string{`x.yaml:11: invalid yaml: mapping values are not allowed in this context`}},
		{"tab indentation", "x.yaml", "kind: Pod\n\tmetadata: {}\n",
			[]string{`x.yaml:2: invalid yaml: found a tab character that violates indentation`}},
		{"several errors in one document", "p.yaml", pod + "      foo: 1\n      bar: 2\n",
			[]string{"p.yaml:9: spec.containers[0].foo: unknown field", "p.yaml:10: spec.containers[0].bar: unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := Decode(tt.file, []byte(tt.src))
			assertErrors(t, errs, tt.want)
		})
	}
}

// assertErrors compares rendered errors with want, exactly and in order.
func assertErrors(t *testing.T, errs []FieldError, want []string) {
	t.Helper()
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Error()
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDecodeKeepsDocumentsBeforeSyntaxError(t *testing.T) {
	src := "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: i}]}\n---\n: : :\n"
	ds, errs := Decode("x.yaml", []byte(src))
	if len(ds) != 1 || len(errs) != 1 {
		t.Fatalf("got %d objects and errors %v; want 1 object and 1 error", len(ds), errs)
	}
}

func TestDecodeJSONFile(t *testing.T) {
	src := "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Pod\",\n\t\"metadata\": {\"name\": \"j\", \"annotations\": {\"url\": \"http:\\/\\/x\"}},\n\t\"spec\": {\n\t\t\"containers\": [\n\t\t\t{\"name\": \"c\", \"image\": \"busybox\", \"ports\": [{\"containerPort\": 80}]}\n\t\t]\n\t}\n}\n"
	d := mustDecodeOne(t, "pod.json", src)
	p := d.Object.(*Pod)
	if p.Metadata.Annotations["url"] != "http://x" || p.Spec.Containers[0].Ports[0].ContainerPort != 80 {
		t.Errorf("decoded %+v", p)
	}
	if d.Line != 3 || d.LineOf("spec.containers[0].image") != 7 || d.LineOf("metadata.annotations[url]") != 4 {
		t.Errorf("lines: object %d, image %d, url %d; want 3, 7, 4", d.Line, d.LineOf("spec.containers[0].image"), d.LineOf("metadata.annotations[url]"))
	}

	bad := strings.Replace(src, `"image": "busybox"`, `"image": "busybox", "tty": true`, 1)
	_, errs := Decode("pod.json", []byte(bad))
	assertErrors(t, errs, []string{"pod.json:7: spec.containers[0].tty: unknown field"})

	_, errs = Decode("pod.json", []byte("{\n\"kind\": \"Pod\",\n\"apiVersion\": \"v1\",\n"))
	assertErrors(t, errs, []string{"pod.json:3: invalid json: unexpected end of file"})

	_, errs = Decode("pod.json", []byte("[1, 2]"))
	assertErrors(t, errs, []string{"pod.json:1: a manifest must be an object with apiVersion and kind, not a list"})

	_, errs = Decode("pod.json", []byte("\xef\xbb\xbf{\"kind\": \"Pod\", \"apiVersion\": \"v1\", \"metadata\": {\"name\": \"x\", \"labels\": {\"a\": 1}}}"))
	assertErrors(t, errs, []string{`pod.json:1: metadata.labels[a]: expected a string, got integer 1; quote it: "1"`})
}

func TestDecodeSizeLimit(t *testing.T) {
	big := "# " + strings.Repeat("x", MaxFileBytes) + "\n"
	_, errs := Decode("big.yaml", []byte(big))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "big.yaml:1: file is") {
		t.Errorf("errors %v; want one size error", errs)
	}
}

func TestDecodeAliases(t *testing.T) {
	src := `apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: &labels {app: web}
  annotations: *labels
spec:
  containers: [{name: c, image: busybox}]
`
	p := mustDecodeOne(t, "p.yaml", src).Object.(*Pod)
	if p.Metadata.Annotations["app"] != "web" {
		t.Errorf("alias not expanded: %+v", p.Metadata)
	}

	// A short string repeated through aliases would expand far beyond the file's size.
	bomb := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {x: &s " + strings.Repeat("x", 30000) +
		"}}\nspec:\n  containers:\n  - name: c\n    image: i\n    command: [" + strings.Repeat("*s, ", 5000) + "*s]\n"
	_, errs := Decode("bomb.yaml", []byte(bomb))
	found := false
	for _, e := range errs {
		found = found || strings.Contains(e.Message, "decodes to more than")
	}
	if !found {
		t.Errorf("alias bomb not refused; errors %v", errs)
	}
}
