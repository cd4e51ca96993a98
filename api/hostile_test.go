package api

import (
	"strings"
	"testing"
)

// Every hostile input is answered with an error at the file and line of its cause, within
// generous bounds of time and memory (BenchmarkHostile has the precise numbers).
func TestHostileInputs(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n"
	tests := []struct {
		name, file string
		data       []byte
		want       string // the first error, rendered
	}{
		{"aliases", "pod.yaml", aliasPod(1, 1000, 4000),
			"pod.yaml:4159: spec.containers[150].args[3859]: the file decodes to more than 128 MiB (an alias counts as what it expands to)"},
		{"aliases in two documents", "pod.yaml", aliasPod(2, 1000, 4000),
			"pod.yaml:4159: spec.containers[150].args[3859]: the file decodes to more than 128 MiB"},
		{"deep json", "deep.json", []byte(strings.Repeat("[", 1_000_000)), "deep.json:1: invalid json: nested deeper than 100 levels"},
		{"deep json on line 3", "deep.json", []byte("{\"a\":\n\n" + strings.Repeat("[", 200)), "deep.json:3: invalid json: nested deeper than 100 levels"},
		{"deep yaml", "deep.yaml", []byte(strings.Repeat("[", 1_000_000)), "deep.yaml:1: invalid yaml: exceeded max depth of 10000"},
		{"NUL", "nul.yaml", []byte(pod + "    args: [\"a\x00\"]\n"), "nul.yaml:8: NUL byte at column 14"},
		{"invalid UTF-8", "utf.yaml", []byte(pod + "\n    args: [\"\xff\"]\n"), "utf.yaml:9: invalid UTF-8 (byte 0xff at column 13)"},
		{"invalid UTF-8 in JSON", "utf.json", []byte("{\n\"kind\": \"Pod\xc3\"}"), "utf.json:2: invalid UTF-8 (byte 0xc3 at column 13)"},
		{"escape in YAML", "esc.yaml", []byte(pod + "    args: [\"\x1b[2J\"]\n"), "esc.yaml:8: control character U+001B at column 13 is not allowed in YAML"},
		{"UTF-16", "u16.yaml", []byte("\xff\xfek\x00"), "u16.yaml:1: file is UTF-16; gitfleet reads UTF-8"},
		{"file name with a newline", "a\nb.yaml:1: forged.yaml", []byte("kind: Pod\n"), `"a\nb.yaml:1: forged.yaml":1: apiVersion: missing apiVersion`},
		{"key with an escape", "k.json", []byte(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"\u001b[31m": "x"}}}`),
			`k.json:1: "metadata.labels[\x1b[31m]": invalid key`},
		{"YAML 1.1 boolean", "on.yaml", []byte(pod + "    env: [{name: A, value: on}]\n"),
			`on.yaml:8: spec.containers[0].env[0].value: expected a string; "on" is a boolean in YAML 1.1 (which Kubernetes' parser follows): quote it: "on"`},
		{"control character in an env name", "env.yaml", []byte(pod + "    env: [{name: \"A\\nB\", value: x}]\n"),
			`env.yaml:8: spec.containers[0].env[0].name: invalid name "A\nB"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, errs := measure(tt.file, tt.data)
			if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), tt.want) {
				t.Fatalf("errors = %v\nwant first %q", errs, tt.want)
			}
			if c.elapsed.Seconds() > 30 || c.alloc > 1<<30 {
				t.Errorf("took %v and %d MB", c.elapsed, c.alloc>>20)
			}
		})
	}
}
