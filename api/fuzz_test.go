package api

import "testing"

// FuzzDecode checks that no input makes Decode, Default or Validate panic, and that every
// error names the file and a line.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{validDeployment, validPod, "a: &x [*x]\n", "{\"kind\": \"Pod\"}", "---\n- 1\n", "kind: Pod\napiVersion: v1\nspec: {containers: [{ports: [{containerPort: 1e3}]}]}"} {
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
