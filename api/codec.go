package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
)

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

// TemplateHash is a short, stable hash of a Pod template: the workload controller labels
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
