package api

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// ValidateSet checks what no single object can: that each kind/namespace/name is declared once
// in the whole repository. The error sits on the later declaration and names the earlier one.
func ValidateSet(all []Decoded) []FieldError {
	first := make(map[Key]Decoded, len(all))
	var errs []FieldError
	for _, d := range all {
		k := KeyOf(d.Object)
		if k.Namespace == "" && k.Kind != KindNode {
			k.Namespace = DefaultNamespace // the same object whether or not Default has run
		}
		prev, dup := first[k]
		if !dup {
			first[k] = d
			continue
		}
		errs = append(errs, d.errorAt("metadata.name", "duplicate %s %s/%s: also defined at %s:%d",
			k.Kind, k.Namespace, k.Name, prev.File, prev.LineOf("metadata.name")))
	}
	return errs
}

// LoadSet decodes, defaults and validates a whole repository of manifests, given as file name
// to content. Files without a manifest extension are ignored. Files are read in name order, so
// the objects come out in a stable order; the errors, all of them, are sorted by file and line.
// Any error means the set must not be applied; the objects are returned for reporting only.
func LoadSet(files map[string][]byte) ([]Decoded, []FieldError) {
	var all []Decoded
	var errs []FieldError
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if !IsManifestFile(name) {
			continue
		}
		ds, derrs := Decode(name, files[name])
		errs = append(errs, derrs...)
		for _, d := range ds {
			Default(d.Object)
			errs = append(errs, Validate(d)...)
		}
		all = append(all, ds...)
	}
	errs = append(errs, ValidateSet(all)...)
	SortErrors(errs)
	return all, errs
}

// SortErrors orders errors by file, then line, keeping the order of errors on one line.
func SortErrors(errs []FieldError) {
	slices.SortStableFunc(errs, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
}

// Errors joins errors into one error, one per line, or returns nil when there are none.
func Errors(errs []FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	return errorList(errs)
}

type errorList []FieldError

func (l errorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}
