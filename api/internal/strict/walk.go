package strict

import (
	"cmp"
	"fmt"
	"reflect"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"
)

// Error is one problem found in a document, located by line and field path.
type Error struct {
	Line    int
	Field   string
	Message string
}

// Result is what Walk found: the document as a JSON-encodable value (meaningful only without
// errors), the line of every field path present, and every error.
type Result struct {
	Value any
	Lines map[string]int
	Errs  []Error
}

// Walk checks root against Go type t as a strict decoder would: unknown fields (with a hint
// when only the case differs), duplicate keys, merge keys, type mismatches and out-of-range
// integers are errors at their line; forbidden maps field paths a document must not set to the
// reason. Each node decoded is charged to budget, which the documents of one file share, so
// that aliases (a "billion laughs") cannot make a small file cost more than a large one.
// Unmarshal Result.Value's JSON into t to fill the struct.
func Walk(root *yaml.Node, t reflect.Type, forbidden map[string]string, budget *Budget) Result {
	w := &walker{lines: map[string]int{}, forbidden: forbidden, budget: budget}
	v := w.value(root, t, "")
	return Result{Value: v, Lines: w.lines, Errs: w.errs}
}

// walker checks a YAML node tree against a Go type, the way a strict decoder would, and builds
// the equivalent JSON value. Unlike decoding straight into the struct, it knows every node's
// line, so each unknown field or type mismatch is reported where it is written. It walks the
// whole tree and collects every error instead of stopping at the first.
type walker struct {
	lines     map[string]int
	errs      []Error
	forbidden map[string]string
	budget    *Budget
	// over is set once the budget ran out, so that each document reports it once.
	over bool
	// via is the line of the outermost alias being expanded, where a budget error belongs.
	via int
}

// Budget is the memory one file may take to decode, in bytes as the walker estimates them.
type Budget struct{ left, limit int }

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int) *Budget { return &Budget{left: limit, limit: limit} }

// String renders the limit for messages.
func (b *Budget) String() string {
	if b.limit%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", b.limit>>20)
	}
	return fmt.Sprintf("%d bytes", b.limit)
}

// nodeBytes is what decoding holds for each node besides its text: its line in Result.Lines,
// its JSON value and its share of the round trip into the struct (measured by BenchmarkHostile
// in package api at about 250 bytes for a one-letter string in a list).
const nodeBytes = 192

func (w *walker) errorf(line int, path, format string, args ...any) {
	w.errs = append(w.errs, Error{Line: line, Field: path, Message: fmt.Sprintf(format, args...)})
}

// value checks n against t and returns n as a JSON-encodable value; nil after an error.
func (w *walker) value(n *yaml.Node, t reflect.Type, path string) any {
	// An alias is charged again each time it is used: that is what it expands to.
	if w.budget.left -= nodeBytes + len(n.Value) + len(path); w.budget.left < 0 {
		if !w.over {
			w.over = true
			w.errorf(cmp.Or(w.via, n.Line), path, "the file decodes to more than %s (an alias counts as what it expands to); split it, or write the aliased values out", w.budget)
		}
		return nil
	}
	if n.Kind == yaml.AliasNode {
		outer := w.via
		w.via = cmp.Or(outer, n.Line)
		defer func() { w.via = outer }()
		return w.value(n.Alias, t, path)
	}
	if IsNull(n) {
		return nil
	}
	if t.Implements(intOrStringType) {
		return w.intOrString(n, path)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return w.value(n, t.Elem(), path)
	case reflect.Struct:
		return w.object(n, t, path)
	case reflect.Map:
		return w.mapping(n, t.Elem(), path)
	case reflect.Slice:
		return w.sequence(n, t.Elem(), path)
	case reflect.String:
		return w.str(n, path)
	case reflect.Bool:
		return w.boolean(n, path)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return w.integer(n, t, path)
	}
	// Only a new field of a kind the walker does not know yet gets here: a bug, not bad input.
	w.errorf(n.Line, path, "internal error: cannot decode into %s", t)
	return nil
}

// object checks a mapping against the JSON fields of struct type t.
func (w *walker) object(n *yaml.Node, t reflect.Type, path string) any {
	if n.Kind != yaml.MappingNode {
		w.typeError(n, path, "an object")
		return nil
	}
	fields := jsonFields(t)
	out := make(map[string]any, len(n.Content)/2)
	w.pairs(n, path, JoinField, func(name, p string, k, v *yaml.Node) {
		if msg, bad := w.forbidden[p]; bad {
			w.errorf(k.Line, p, "%s", msg)
			return
		}
		ft, ok := fields[name]
		if !ok {
			w.errorf(k.Line, p, "unknown field%s", suggest(name, fields))
			return
		}
		out[name] = w.value(v, ft, p)
	})
	return out
}

// mapping checks a mapping whose values are all of type elem.
func (w *walker) mapping(n *yaml.Node, elem reflect.Type, path string) any {
	if n.Kind != yaml.MappingNode {
		w.typeError(n, path, "an object")
		return nil
	}
	out := make(map[string]any, len(n.Content)/2)
	w.pairs(n, path, JoinKey, func(name, p string, _, v *yaml.Node) {
		out[name] = w.value(v, elem, p)
	})
	return out
}

// pairs calls fn for each key of mapping n once, after checking the key is a plain scalar,
// recording its line and rejecting duplicates (which YAML forbids and JSON leaves undefined).
func (w *walker) pairs(n *yaml.Node, path string, join func(string, string) string, fn func(name, p string, k, v *yaml.Node)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" || k.ShortTag() == "!!null" {
			w.errorf(k.Line, path, "keys must be plain strings; merge keys (<<), null and complex keys are not supported")
			continue
		}
		p := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			w.errorf(k.Line, p, "duplicate key; first set on line %d", first)
			continue
		}
		seen[k.Value] = k.Line
		w.lines[p] = k.Line
		fn(k.Value, p, k, v)
	}
}

func (w *walker) sequence(n *yaml.Node, elem reflect.Type, path string) any {
	if n.Kind != yaml.SequenceNode {
		w.typeError(n, path, "a list")
		return nil
	}
	out := make([]any, len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		w.lines[p] = item.Line
		out[i] = w.value(item, elem, p)
	}
	return out
}

func (w *walker) str(n *yaml.Node, path string) any {
	if isYAML11Bool(n) {
		w.errorf(n.Line, path, "expected a string; %q is a boolean in YAML 1.1 (which Kubernetes' parser follows): quote it: \"%s\"", n.Value, n.Value)
		return nil
	}
	// An unquoted date is still the text the user wrote; nothing else may stand for a string,
	// as in Kubernetes: `value: true` in an env var must be quoted.
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
		w.typeError(n, path, "a string")
		return nil
	}
	return n.Value
}

func (w *walker) boolean(n *yaml.Node, path string) any {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		w.typeError(n, path, "true or false")
		return nil
	}
	return b
}

func (w *walker) integer(n *yaml.Node, t reflect.Type, path string) any {
	var i int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		w.typeError(n, path, "an integer")
		return nil
	}
	if n.Decode(&i) != nil || reflect.New(t).Elem().OverflowInt(i) {
		w.errorf(n.Line, path, "integer %s is out of range for %d bits", n.Value, t.Bits())
		return nil
	}
	return i
}

// IntOrString is implemented by a type a manifest may write as an integer or a string, as
// Kubernetes' intstr.IntOrString (a Service's targetPort: 8080 or "http"). The walker passes
// an int32 or a string to the type's JSON decoding.
type IntOrString interface{ IntOrString() }

var intOrStringType = reflect.TypeFor[IntOrString]()

func (w *walker) intOrString(n *yaml.Node, path string) any {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		return w.integer(n, reflect.TypeFor[int32](), path)
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		w.typeError(n, path, "an integer or a string")
		return nil
	}
	return w.str(n, path)
}

func (w *walker) typeError(n *yaml.Node, path, want string) {
	msg := fmt.Sprintf("expected %s, got %s", want, Describe(n))
	if want == "a string" && n.Kind == yaml.ScalarNode {
		msg += fmt.Sprintf("; quote it: \"%s\"", n.Value)
	}
	w.errorf(n.Line, path, "%s", msg)
}

// Describe names what a node holds, for error messages.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch tag := n.ShortTag(); tag {
	case "!!str":
		return fmt.Sprintf("string %q", n.Value)
	case "!!int":
		return "integer " + n.Value
	case "!!float":
		return "number " + n.Value
	case "!!bool":
		return "boolean " + n.Value
	case "!!null":
		return "null"
	default:
		return fmt.Sprintf("a value tagged %s", tag)
	}
}

// yaml11Bools are the words YAML 1.1 reads as booleans and YAML 1.2 (yaml.v3) as strings.
var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "n": true, "N": true, "no": true, "No": true, "NO": true,
	"on": true, "On": true, "ON": true, "off": true, "Off": true, "OFF": true,
}

// isYAML11Bool reports whether n is an unquoted YAML 1.1 boolean: Kubernetes, which parses
// YAML 1.1, would read `value: on` as true, so the same file must not mean "on" here.
func isYAML11Bool(n *yaml.Node) bool {
	// Style 0 is plain: not quoted, not a block scalar, not tagged !!str explicitly.
	return n.Kind == yaml.ScalarNode && n.Style == 0 && n.ShortTag() == "!!str" && yaml11Bools[n.Value]
}

// IsNull reports whether n is a null scalar.
func IsNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// JoinField appends a struct field to a field path: "spec" + "replicas" is "spec.replicas".
func JoinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// JoinKey appends a map key to a field path: "labels" + "app" is "labels[app]".
func JoinKey(path, key string) string { return path + "[" + key + "]" }

// suggest returns a hint when name differs from a known field only by case, the usual typo.
func suggest(name string, fields map[string]reflect.Type) string {
	for f := range fields {
		if strings.EqualFold(f, name) {
			return fmt.Sprintf("; did you mean %q?", f)
		}
	}
	return ""
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps the JSON names of struct type t to their types, flattening embedded structs
// without a name as encoding/json does (TypeMeta's `json:",inline"`).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for k, v := range jsonFields(f.Type) {
				m[k] = v
			}
		case name == "":
			m[f.Name] = f.Type
		default:
			m[name] = f.Type
		}
	}
	fieldCache.Store(t, m)
	return m
}
