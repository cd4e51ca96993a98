package api

import (
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"strconv"
	"strings"

	"github.com/gitfleet/gitfleet/api/internal/strict"
	yaml "go.yaml.in/yaml/v3"
)

// decodeBudget bounds the memory one file takes to decode, as package strict estimates it,
// counting an alias as what it expands to: a small file of aliases (a "billion laughs") costs
// no more than the densest file of MaxFileBytes without any.
const decodeBudget = 128 * MaxFileBytes

// MaxFileBytes is the largest manifest file Decode accepts. Real manifests are a few KiB; the
// bound keeps a generated or vendored blob in a commit from exhausting the controller's memory.
const MaxFileBytes = 1 << 20

// MaxRepoBytes is the most manifest bytes one commit or working tree may hold, each path
// counted: every path is decoded on its own, so that is the work a tree asks for. 16 MiB is
// thousands of objects, more than gitfleet is built to run.
const MaxRepoBytes = 16 << 20

// Decoded is one object read from a manifest file, with where it came from.
type Decoded struct {
	Object Object
	// File is the name the caller passed to Decode, usually relative to the repository root.
	File string
	// Line is the line of the object's kind field.
	Line int
	// lines maps each field path present in the document to the line of its key.
	lines map[string]int
}

// LineOf returns the line of fieldPath in the manifest. A path the manifest does not contain
// (a defaulted field, say) falls back to its nearest present parent, then to d.Line, so an
// error about it still points somewhere useful.
func (d Decoded) LineOf(fieldPath string) int {
	for p := fieldPath; p != ""; p = parentPath(p) {
		if line, ok := d.lines[p]; ok {
			return line
		}
	}
	return d.Line
}

// Source renders "file:line", the value gitfleet records in AnnotationSource.
func (d Decoded) Source() string { return d.File + ":" + strconv.Itoa(d.Line) }

// errorAt builds a FieldError located at fieldPath within d.
func (d Decoded) errorAt(fieldPath, format string, args ...any) FieldError {
	return FieldError{File: d.File, Line: d.LineOf(fieldPath), Field: fieldPath, Message: fmt.Sprintf(format, args...)}
}

// parentPath drops the last element of a field path: "a.b[0]" -> "a.b", "a.b" -> "a".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}

// IsManifestFile reports whether name has an extension gitfleet reads manifests from.
func IsManifestFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Decode strictly decodes every object in one manifest file: multi-document YAML, or one JSON
// object when file ends in .json. Unknown fields, duplicate keys, type mismatches and unknown
// kinds are errors located by field path and line. Documents before a syntax error are still
// returned, so that one pass reports as much as it can; any error means the file is bad.
func Decode(file string, data []byte) ([]Decoded, []FieldError) {
	if len(data) > MaxFileBytes {
		return nil, []FieldError{{File: file, Line: 1,
			Message: fmt.Sprintf("file is %d bytes; the limit is %d", len(data), MaxFileBytes)}}
	}
	roots, perr := strict.Parse(data, strings.EqualFold(path.Ext(file), ".json"))
	var out []Decoded
	var errs []FieldError
	budget := strict.NewBudget(decodeBudget)
	for _, root := range roots {
		d, derrs := decodeDocument(file, root, budget)
		errs = append(errs, derrs...)
		if d.Object != nil {
			out = append(out, d)
		}
	}
	if perr != nil {
		errs = append(errs, FieldError{File: file, Line: perr.Line, Message: perr.Message})
	}
	return out, errs
}

// decodeDocument turns one document's node tree into a typed object.
func decodeDocument(file string, root *yaml.Node, budget *strict.Budget) (Decoded, []FieldError) {
	if root.Kind != yaml.MappingNode {
		return Decoded{}, []FieldError{{File: file, Line: root.Line,
			Message: "a manifest must be an object with apiVersion and kind, not " + strict.Describe(root)}}
	}
	kind, kindLine, fe := checkKind(file, root)
	if fe != nil {
		return Decoded{}, []FieldError{*fe}
	}
	obj, err := New(kind)
	if err != nil {
		return Decoded{}, []FieldError{{File: file, Line: kindLine, Field: "kind", Message: err.Error()}}
	}
	info, _ := LookupKind(kind)
	res := strict.Walk(root, reflect.TypeOf(obj).Elem(), info.Forbidden, budget)
	if len(res.Errs) > 0 {
		errs := make([]FieldError, len(res.Errs))
		for i, e := range res.Errs {
			errs[i] = FieldError{File: file, Line: e.Line, Field: e.Field, Message: e.Message}
		}
		return Decoded{}, errs
	}
	// The walker has checked every field and type, so this round trip only fills the struct.
	b, err := json.Marshal(res.Value)
	if err == nil {
		err = json.Unmarshal(b, obj)
	}
	if err != nil {
		return Decoded{}, []FieldError{{File: file, Line: root.Line, Message: "cannot decode: " + err.Error()}}
	}
	return Decoded{Object: obj, File: file, Line: kindLine, lines: res.Lines}, nil
}

// checkKind reads kind and apiVersion from a document's root mapping and checks that gitfleet
// serves that pair. It returns the kind and the line of its key.
func checkKind(file string, root *yaml.Node) (string, int, *FieldError) {
	errAt := func(line int, field, format string, args ...any) (string, int, *FieldError) {
		return "", 0, &FieldError{File: file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	kindKey, kindVal := lookup(root, "kind")
	if kindKey == nil {
		return errAt(root.Line, "kind", "missing kind; gitfleet reads %s", supportedKinds())
	}
	if kindVal.Kind != yaml.ScalarNode || kindVal.ShortTag() != "!!str" || kindVal.Value == "" {
		return errAt(kindKey.Line, "kind", "kind must be a non-empty string")
	}
	kind := kindVal.Value
	want, ok := manifestAPIVersion(kind)
	if !ok {
		return errAt(kindKey.Line, "kind", "unknown kind %q; gitfleet reads %s", kind, supportedKinds())
	}
	avKey, avVal := lookup(root, "apiVersion")
	if avKey == nil {
		return errAt(kindKey.Line, "apiVersion", "missing apiVersion; %s is %s", kind, want)
	}
	if avVal.Kind != yaml.ScalarNode || avVal.Value != want {
		return errAt(avKey.Line, "apiVersion", "apiVersion %q does not serve kind %s; use %s", avVal.Value, kind, want)
	}
	return kind, kindKey.Line, nil
}

// lookup finds the first key named name in a mapping node.
func lookup(m *yaml.Node, name string) (key, val *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == name {
			return k, m.Content[i+1]
		}
	}
	return nil, nil
}
