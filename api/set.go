package api

import (
	"cmp"
	"slices"
	"strings"
)

// podSpecOfDecoded returns the Pod spec of d and the field path prefix it sits at, or nil.
func podSpecOfDecoded(d Decoded) (*PodSpec, string) {
	switch o := d.Object.(type) {
	case *Pod:
		return &o.Spec, "spec."
	case *Deployment:
		return &o.Spec.Template.Spec, "spec.template.spec."
	}
	return nil, ""
}

// checkHostAccess refuses host access in a namespace the repository does not declare
// privileged, as the agent would refuse to run the Pod: better at commit time, with a line.
func checkHostAccess(d Decoded, index map[Key]Decoded) []FieldError {
	spec, prefix := podSpecOfDecoded(d)
	if spec == nil {
		return nil
	}
	path, field := HostAccess(spec)
	if path == "" {
		return nil
	}
	ns := setKey(d).Namespace
	if checkLabel(ns) != "" {
		return nil // an invalid name is Validate's to report
	}
	nd, ok := index[Key{Kind: KindNamespace, Name: ns}]
	if ok && Privileged(nd.Object.(*Namespace)) {
		return nil
	}
	return []FieldError{d.errorAt(prefix+path, "%s", HostAccessMessage(field, ns))}
}

// setKey is the key of d's object whether or not Default has run on it.
func setKey(d Decoded) Key {
	k := KeyOf(d.Object)
	if k.Namespace == "" && Namespaced(k.Kind) {
		k.Namespace = DefaultNamespace
	}
	return k
}

// indexSet maps each key to its first declaration and reports the later ones.
func indexSet(all []Decoded) (map[Key]Decoded, []FieldError) {
	first := make(map[Key]Decoded, len(all))
	var errs []FieldError
	for _, d := range all {
		k := setKey(d)
		prev, dup := first[k]
		if !dup {
			first[k] = d
			continue
		}
		name := k.Name
		if Namespaced(k.Kind) {
			name = k.Namespace + "/" + k.Name
		}
		errs = append(errs, d.errorAt("metadata.name", "duplicate %s %s: also defined at %s:%d",
			k.Kind, name, prev.File, prev.LineOf("metadata.name")))
	}
	return first, errs
}

// checkNamespace requires the Namespace of a namespaced object outside the default namespace.
func checkNamespace(d Decoded, index map[Key]Decoded) []FieldError {
	k := setKey(d)
	if !Namespaced(k.Kind) || k.Namespace == DefaultNamespace || checkLabel(k.Namespace) != "" {
		return nil // an invalid name is Validate's to report
	}
	if _, ok := index[Key{Kind: KindNamespace, Name: k.Namespace}]; ok {
		return nil
	}
	return []FieldError{d.errorAt("metadata.namespace",
		"namespace %q not found: declare it in the repository (apiVersion: v1, kind: Namespace)", k.Namespace)}
}

// checkConfigMapRefs requires every ConfigMap, and every key of one, that a Pod spec of d
// reads without optional: true.
func checkConfigMapRefs(d Decoded, index map[Key]Decoded) []FieldError {
	spec, prefix := podSpecOfDecoded(d)
	if spec == nil {
		return nil
	}
	ns := setKey(d).Namespace
	var errs []FieldError
	for _, r := range ConfigMapRefs(spec) {
		if r.Optional || r.Name == "" {
			continue
		}
		cd, ok := index[Key{Kind: KindConfigMap, Namespace: ns, Name: r.Name}]
		if !ok {
			errs = append(errs, d.errorAt(prefix+r.Field,
				"configmap %q not found in namespace %s: declare it, or set optional: true", r.Name, ns))
			continue
		}
		data := cd.Object.(*ConfigMap).Data
		for _, k := range r.Keys {
			if _, ok := data[k.Key]; !ok && k.Key != "" {
				errs = append(errs, d.errorAt(prefix+k.Field, "configmap %q (%s:%d) has no key %q",
					r.Name, cd.File, cd.Line, k.Key))
			}
		}
	}
	return errs
}

// LoadedFile is what LoadFile made of one manifest file: the part of LoadSet that depends on
// that file alone, which a caller may keep while the file's content does not change.
type LoadedFile struct {
	Name string
	// Objects are decoded and defaulted; Validate has checked each.
	Objects []Decoded
	// Errors are the file's decode and Validate errors, unsorted.
	Errors []FieldError
}

// LoadFile decodes, defaults and validates the objects of one manifest file. It does not check
// what only the whole repository can tell (ValidateSet); JoinFiles does.
func LoadFile(name string, data []byte) LoadedFile {
	ds, errs := Decode(name, data)
	for _, d := range ds {
		Default(d.Object)
		errs = append(errs, Validate(d)...)
	}
	return LoadedFile{Name: name, Objects: ds, Errors: errs}
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
