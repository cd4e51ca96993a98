package api

import (
	"slices"
	"strings"
	"testing"
)

const validConfigRepoPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: prod
spec:
  volumes:
    - name: cfg
      configMap:
        name: app-config
        items: [{key: message.txt, path: conf/message}]
    - name: whole
      configMap: {name: app-config}
    - name: maybe
      configMap: {name: later, optional: true}
  containers:
    - name: main
      image: busybox
      envFrom:
        - {prefix: APP_, configMapRef: {name: app-config}}
      env:
        - name: GREETING
          valueFrom:
            configMapKeyRef: {name: app-config, key: GREETING}
        - name: LATER
          valueFrom:
            configMapKeyRef: {name: app-config, key: not-yet, optional: true}
      volumeMounts:
        - {name: cfg, mountPath: /etc/cfg, readOnly: true}
        - {name: whole, mountPath: /etc/greeting, subPath: GREETING}
`

const validConfigRepoMaps = `apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: {team: a}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: prod
data:
  GREETING: hello
  message.txt: |
    hi there
`

func TestLoadSetConfigMapsAndNamespaces(t *testing.T) {
	ds, errs := LoadSet(map[string][]byte{"pod.yaml": []byte(validConfigRepoPod), "maps.yaml": []byte(validConfigRepoMaps)})
	if len(errs) > 0 {
		t.Fatalf("valid repository: %v", Errors(errs))
	}
	var keys []string
	for _, d := range ds {
		keys = append(keys, KeyOf(d.Object).String())
	}
	want := []string{"Namespace//prod", "ConfigMap/prod/app-config", "Pod/prod/web"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	cm := ds[1].Object.(*ConfigMap)
	if cm.Data["message.txt"] != "hi there\n" || cm.Data["GREETING"] != "hello" {
		t.Errorf("data %q", cm.Data)
	}
	// The same repository without the Namespace fails on each object in it.
	_, errs = LoadSet(map[string][]byte{"pod.yaml": []byte(validConfigRepoPod),
		"maps.yaml": []byte(strings.SplitN(validConfigRepoMaps, "---\n", 2)[1])})
	assertErrors(t, errs, []string{
		`maps.yaml:5: metadata.namespace: namespace "prod" not found: declare it in the repository (apiVersion: v1, kind: Namespace)`,
		`pod.yaml:5: metadata.namespace: namespace "prod" not found: declare it in the repository (apiVersion: v1, kind: Namespace)`,
	})
}

func TestNamespaceIsClusterScoped(t *testing.T) {
	d := mustDecodeOne(t, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n")
	Default(d.Object)
	if k := KeyOf(d.Object); k != (Key{Kind: KindNamespace, Name: "prod"}) {
		t.Fatalf("key %+v", k)
	}
	again := mustDecodeOne(t, "b.yaml", "# x\napiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n")
	assertErrors(t, ValidateSet([]Decoded{d, again}), []string{
		"b.yaml:4: metadata.name: duplicate Namespace prod: also defined at ns.yaml:3",
	})
	if Namespaced(KindNamespace) || Namespaced(KindNode) || !Namespaced(KindConfigMap) {
		t.Error("Namespaced is wrong")
	}
}

func TestConfigMapLimits(t *testing.T) {
	big := &ConfigMap{TypeMeta: TypeMeta{APIVersion: "v1", Kind: KindConfigMap},
		Metadata: ObjectMeta{Name: "big"},
		Data:     map[string]string{"a": strings.Repeat("x", MaxConfigMapBytes/2), "b": strings.Repeat("y", MaxConfigMapBytes/2)}}
	assertErrors(t, Validate(Decoded{Object: big, File: "big.yaml", Line: 2}), []string{
		"big.yaml:2: data: data is 1048578 bytes; the limit is 1048576",
	})
	for key, ok := range map[string]bool{
		"a": true, "A-b_c.d": true, ".env": true, "x..y": true, strings.Repeat("k", 253): true,
		".": false, "..": false, "..x": false, "a/b": false, "a b": false, "": false, strings.Repeat("k", 254): false,
	} {
		if got := checkConfigMapKey(key) == ""; got != ok {
			t.Errorf("checkConfigMapKey(%q) valid = %v, want %v", key, got, ok)
		}
	}
}

func TestConfigMapRefs(t *testing.T) {
	d := mustDecodeOne(t, "pod.yaml", validConfigRepoPod)
	spec := &d.Object.(*Pod).Spec
	var got []string
	for _, r := range ConfigMapRefs(spec) {
		s := r.Field + "=" + r.Name
		if r.Optional {
			s += "?"
		}
		for _, k := range r.Keys {
			s += " " + k.Field + "=" + k.Key
		}
		got = append(got, s)
	}
	want := []string{
		"containers[0].envFrom[0].configMapRef.name=app-config",
		"containers[0].env[0].valueFrom.configMapKeyRef.name=app-config containers[0].env[0].valueFrom.configMapKeyRef.key=GREETING",
		"containers[0].env[1].valueFrom.configMapKeyRef.name=app-config? containers[0].env[1].valueFrom.configMapKeyRef.key=not-yet",
		"volumes[0].configMap.name=app-config volumes[0].configMap.items[0].key=message.txt",
		"volumes[1].configMap.name=app-config",
		"volumes[2].configMap.name=later?",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("refs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if names := ConfigMapNames(spec); !slices.Equal(names, []string{"app-config", "later"}) {
		t.Errorf("names %q", names)
	}
}

// TestTemplateHashIgnoresEmptyNewFields checks that the fields added for ConfigMaps, left empty,
// leave the template hash of an existing template alone.
func TestTemplateHashIgnoresEmptyNewFields(t *testing.T) {
	d := mustDecodeOne(t, "d.yaml", validDeployment).Object.(*Deployment)
	h := TemplateHash(&d.Spec.Template)
	c := &d.Spec.Template.Spec.Containers[0]
	c.EnvFrom, c.VolumeMounts, d.Spec.Template.Spec.Volumes = []EnvFromSource{}, []VolumeMount{}, []Volume{}
	c.Env[0].ValueFrom = nil
	if TemplateHash(&d.Spec.Template) != h || h != pinnedTemplateHash {
		t.Fatalf("hash %s moved (pinned %s)", TemplateHash(&d.Spec.Template), pinnedTemplateHash)
	}
}
