package strict

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

type inner struct {
	Port int32 `json:"port"`
}

// port is an int-or-string, as a Service's targetPort.
type port struct{ v any }

func (port) IntOrString() {}

type doc struct {
	Port   port              `json:"port,omitzero"`
	Name   string            `json:"name"`
	On     bool              `json:"on,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Items  []inner           `json:"items,omitempty"`
	Secret string            `json:"secret,omitempty"`
	A      []string          `json:"a,omitempty"`
	M      [][]string        `json:"m,omitempty"`
}

func TestWalk(t *testing.T) {
	tests := []struct {
		src  string
		want string // the errors as "line field: message", joined by "|"
	}{
		{"name: a\nitems:\n  - port: 80\n", ""},
		{"name: a\nNAME: b\n", "2 NAME: unknown field; did you mean \"name\"?"},
		{"name: a\nname: b\n", "2 name: duplicate key; first set on line 1"},
		{"name: 1\n", "1 name: expected a string, got integer 1; quote it: \"1\""},
		{"name: a\non: yes\n", "2 on: expected true or false, got string \"yes\""},
		{"name: a\nitems:\n  - port: 3000000000\n", "3 items[0].port: integer 3000000000 is out of range for 32 bits"},
		{"name: a\nlabels:\n  x: [1]\n", "3 labels[x]: expected a string, got a list"},
		{"name: a\nsecret: s\n", "2 secret: set by the server"},
		{"name: a\na: &a [x, x, x, x, x, x, x, x]\nm: [*a, *a, *a, *a, *a, *a, *a, *a]\n",
			"3 m[2][6]: the file decodes to more than 8000 bytes (an alias counts as what it expands to)"},
		{"name: a\nport: 80\n", ""},
		{"name: a\nport: http\n", ""},
		{"name: a\nport: 1.5\n", "2 port: expected an integer or a string, got number 1.5"},
		{"name: a\nport: [1]\n", "2 port: expected an integer or a string, got a list"},
		{"name: a\nport: 4294967296\n", "2 port: integer 4294967296 is out of range for 32 bits"},
		{"name: a\nport: on\n", `2 port: expected a string; "on" is a boolean in YAML 1.1`},
		{"name: on\n", `1 name: expected a string; "on" is a boolean in YAML 1.1 (which Kubernetes' parser follows): quote it: "on"`},
		{"name: \"on\"\nlabels: {a: 'Yes', b: !!str yes, c: NO}\n", `2 labels[c]: expected a string; "NO" is a boolean in YAML 1.1`},
	}
	for _, tt := range tests {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tt.src), &n); err != nil {
			t.Fatal(err)
		}
		res := Walk(n.Content[0], reflect.TypeOf(doc{}), map[string]string{"secret": "set by the server"}, NewBudget(8000))
		var got []string
		for _, e := range res.Errs {
			got = append(got, fmt.Sprintf("%d %s: %s", e.Line, e.Field, e.Message))
		}
		if g := strings.Join(got, "|"); !strings.HasPrefix(g, tt.want) || (tt.want == "") != (g == "") {
			t.Errorf("Walk(%q) errors = %q, want %q", tt.src, g, tt.want)
		}
	}
}

func TestWalkRecordsLines(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("name: a\nitems:\n  - port: 80\n"), &n); err != nil {
		t.Fatal(err)
	}
	res := Walk(n.Content[0], reflect.TypeOf(doc{}), nil, NewBudget(1<<20))
	if res.Lines["items[0].port"] != 3 || res.Lines["name"] != 1 || len(res.Errs) != 0 {
		t.Fatalf("lines = %v, errs = %v", res.Lines, res.Errs)
	}
}
