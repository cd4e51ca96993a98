package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Encode renders obj as JSON, the form the store persists.
func Encode(obj Object) ([]byte, error) { return json.Marshal(obj) }

// DecodeJSON reads an object Encode wrote, choosing its type by its kind. Unlike Decode it is
// lenient: it reads gitfleet's own output, which a newer version may have extended.
func DecodeJSON(data []byte) (Object, error) {
	var tm TypeMeta
	if err := json.Unmarshal(data, &tm); err != nil {
		return nil, err
	}
	if tm.Kind == "" {
		return nil, errors.New("object has no kind")
	}
	obj, err := New(tm.Kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", tm.Kind, err)
	}
	return obj, nil
}

// Clone returns a deep copy of obj, of the same concrete type. It needs no kind set.
func Clone(obj Object) Object {
	if obj == nil {
		return nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic(fmt.Sprintf("api.Clone: %v", err)) // every gitfleet type marshals
	}
	out := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(Object)
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("api.Clone: %v", err))
	}
	return out
}

// TemplateHash is a short, stable hash of a Pod template: the Deployment controller labels
// Pods with it (LabelTemplateHash) to tell old Pods from new in a rolling update. It hashes the
// canonical JSON (encoding/json sorts map keys), so hash the template after Default, or a
// defaulted and a raw copy of one template would differ.
func TemplateHash(t *PodTemplateSpec) string {
	b, err := json.Marshal(t)
	if err != nil {
		panic(fmt.Sprintf("api.TemplateHash: %v", err)) // a PodTemplateSpec always marshals
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:5])
}
