package api

import (
	"strings"
	"testing"
)

// FuzzDecode checks that no input makes Decode, Default or Validate panic, and that every
// error names the file and a line. The seeds include the hostile inputs, scaled down where
// only their shape matters, so that mutations explore the budgets' edges: aliases that expand
// (the per-file budget), deep nesting (the JSON limit), NUL, invalid UTF-8 and control bytes.
func FuzzDecode(f *testing.F) {
	seeds := []string{validDeployment, validPod, validService, "a: &x [*x]\n", "{\"kind\": \"Pod\"}", "---\n- 1\n",
		"kind: Pod\napiVersion: v1\nspec: {containers: [{ports: [{containerPort: 1e3}]}]}",
		string(aliasPod(1, 50, 200)), string(aliasPod(2, 20, 50)),
		strings.Repeat("[", 150), "{\"a\":" + strings.Repeat("[", 99) + strings.Repeat("]", 99) + "}",
		validPod + "\x00", "kind: Pod\xff\n", "a:\n  b: \"\x1b[2J\"\n", "\xff\xfek\x00",
		validPod[:len(validPod)-1] + "\n    env: [{name: on, value: yes}]\n",
		"kind: Service\napiVersion: v1\nspec: {ports: [{port: 80, targetPort: {a: 1}}, {targetPort: on}, {targetPort: 99999999999}]}"}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, src string, asJSON bool) {
		file := "f.yaml"
		if asJSON {
			file = "f.json"
		}
		ds, errs := Decode(file, []byte(src))
		for _, d := range ds {
			Default(d.Object)
			errs = append(errs, Validate(d)...)
		}
		errs = append(errs, ValidateSet(ds)...)
		for _, e := range errs {
			if e.File != file || e.Line < 1 || e.Message == "" {
				t.Errorf("badly located error %+v", e)
			}
		}
	})
}
