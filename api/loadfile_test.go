package api

import (
	"reflect"
	"slices"
	"testing"
)

// LoadFile results can be kept and joined again, as a controller does for the files of a commit
// that did not change: JoinFiles answers as LoadSet and leaves them as they were.
func TestJoinFilesReusesLoadedFiles(t *testing.T) {
	files := map[string][]byte{
		"a/prod.yaml":  []byte(privilegedNamespace("prod")),
		"a/ns.yaml":    []byte(privilegedNamespace("default")),
		"a/deploy.yml": []byte(validDeployment),
		"b/bad.json":   []byte(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad"}, "spec": {"containers": []}}`),
		"c/dup.yaml":   []byte(validPod),
		"z/pod.yaml":   []byte(validPod),
	}
	wantObjs, wantErrs := LoadSet(files)
	var loaded []LoadedFile
	for _, name := range []string{"a/deploy.yml", "a/ns.yaml", "a/prod.yaml", "b/bad.json", "c/dup.yaml", "z/pod.yaml"} {
		loaded = append(loaded, LoadFile(name, files[name]))
	}
	before := make([][]FieldError, len(loaded))
	for i, f := range loaded {
		before[i] = slices.Clone(f.Errors)
	}
	for range 2 {
		objs, errs := JoinFiles(loaded)
		if !reflect.DeepEqual(objs, wantObjs) || !reflect.DeepEqual(errs, wantErrs) {
			t.Fatalf("JoinFiles = %v, %v\nwant %v, %v", objs, errs, wantObjs, wantErrs)
		}
	}
	for i, f := range loaded {
		if !reflect.DeepEqual(f.Errors, before[i]) {
			t.Fatalf("JoinFiles changed the errors of %s: %v, were %v", f.Name, f.Errors, before[i])
		}
	}
	if len(wantErrs) != 3 {
		t.Fatalf("errors = %v, want the two of bad.json and the duplicate", wantErrs)
	}
}
