package reconciler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/change"
	"github.com/gitfleet/gitfleet/store"
)

// Action is what a sync does to one desired object (change.Action).
type Action = change.Action

// The actions of a change set.
const (
	Create    = change.Create
	Update    = change.Update
	Delete    = change.Delete
	Unchanged = change.Unchanged
)

// symbol is the mark of a in rendered output.
func symbol(a Action) string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Delete:
		return "-"
	}
	return "="
}

// Change is the action planned for one key.
type Change struct {
	Action Action
	Key    api.Key
	// Object is the desired object; nil for Delete.
	Object api.Object
	// Live is the object in etcd; nil for Create, and for an Update or Delete of a value that
	// could not be decoded.
	Live api.Object
	// ModRevision is Live's revision, the guard of the write; 0 for Create.
	ModRevision int64
}

// ChangeSet is the plan of one sync, in apply order: creates, updates and unchanged objects
// sorted by kind rank (Namespaces, then ConfigMaps, then workloads), kind, namespace and name,
// then deletes in the exact reverse order, so that what an object needs comes before it and
// goes after it.
type ChangeSet struct {
	Changes []Change
}

// Diff compares the desired objects (keys unique, as api.LoadSet guarantees) with the live ones
// and returns the plan. It is pure. Two objects are equal when their canonical JSON is, ignoring
// the gitfleet.io/commit and gitfleet.io/source annotations, so a commit that moves nothing but
// those reports Unchanged and writes nothing. A live entry whose value could not be decoded (nil
// Object) is never equal to anything: it is updated when desired, else deleted.
func Diff(desired []api.Object, live map[api.Key]store.DesiredObject) ChangeSet {
	return diff(desired, live, func(i int, k api.Key) bool { return equal(desired[i], live[k].Object) })
}

// diff is Diff with same(i, k) telling whether desired[i], of key k, equals the live object at k,
// which exists and was decoded.
func diff(desired []api.Object, live map[api.Key]store.DesiredObject, same func(i int, k api.Key) bool) ChangeSet {
	seen := make(map[api.Key]bool, len(desired))
	var cs ChangeSet
	if n := len(desired) + len(live); n > 0 {
		cs.Changes = make([]Change, 0, n)
	}
	for i, obj := range desired {
		k := api.KeyOf(obj)
		seen[k] = true
		l, ok := live[k]
		c := Change{Action: Create, Key: k, Object: obj}
		if ok {
			c.Live, c.ModRevision, c.Action = l.Object, l.ModRevision, Update
			if l.Object != nil && same(i, k) {
				c.Action = Unchanged
			}
		}
		cs.Changes = append(cs.Changes, c)
	}
	for k, l := range live {
		if !seen[k] {
			cs.Changes = append(cs.Changes, Change{Action: Delete, Key: k, Live: l.Object, ModRevision: l.ModRevision})
		}
	}
	slices.SortFunc(cs.Changes, compareChanges)
	return cs
}

// compareChanges orders non-deletes by key, then deletes by key reversed.
func compareChanges(a, b Change) int {
	ad, bd := a.Action == Delete, b.Action == Delete
	if ad != bd {
		if ad {
			return 1
		}
		return -1
	}
	c := api.CompareKeys(a.Key, b.Key)
	if ad {
		return -c
	}
	return c
}

// Summary counts the changes by action.
func (cs ChangeSet) Summary() api.ChangeSummary {
	var s api.ChangeSummary
	for _, c := range cs.Changes {
		switch c.Action {
		case Create:
			s.Created++
		case Update:
			s.Updated++
		case Delete:
			s.Deleted++
		case Unchanged:
			s.Unchanged++
		}
	}
	return s
}

// Empty reports whether applying the set would write nothing.
func (cs ChangeSet) Empty() bool {
	s := cs.Summary()
	return s.Created+s.Updated+s.Deleted == 0
}

// Writes returns the store writes of the set, each guarded by the revision it was diffed at.
func (cs ChangeSet) Writes() []store.Write {
	var ws []store.Write
	for _, c := range cs.Changes {
		switch c.Action {
		case Create, Update:
			ws = append(ws, store.Write{Key: c.Key, Object: c.Object, ModRevision: c.ModRevision})
		case Delete:
			ws = append(ws, store.Write{Key: c.Key, ModRevision: c.ModRevision})
		}
	}
	return ws
}

// String renders one line per change that writes, such as "+ Deployment/default/web".
func (cs ChangeSet) String() string {
	var b strings.Builder
	for _, c := range cs.Changes {
		if c.Action != Unchanged {
			fmt.Fprintf(&b, "%s %s\n", symbol(c.Action), c.Key)
		}
	}
	return b.String()
}

// equal compares the canonical forms of a and b; objects that cannot be encoded are unequal, so
// the write that follows reports the encoding error.
func equal(a, b api.Object) bool {
	ca := canonicalJSON(a)
	return ca != nil && bytes.Equal(ca, canonicalJSON(b))
}

// canonicalJSON is canonical(obj) encoded: encoding/json sorts map keys and writes each value
// one way, so two objects are equal exactly when these bytes are. It is nil when obj cannot be
// encoded.
func canonicalJSON(obj api.Object) []byte {
	v, err := canonical(obj)
	if err != nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// canonical returns obj as generic JSON without nulls, empty maps and lists, or the annotations
// the controller sets.
func canonical(obj api.Object) (any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", api.KeyOf(obj), err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", api.KeyOf(obj), err)
	}
	if meta, ok := v["metadata"].(map[string]any); ok {
		if ann, ok := meta["annotations"].(map[string]any); ok {
			delete(ann, api.AnnotationCommit)
			delete(ann, api.AnnotationSource)
		}
	}
	return prune(v), nil
}

// prune drops nulls and empty maps and lists from map values, recursively.
func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			x = prune(x)
			if isEmpty(x) {
				delete(t, k)
				continue
			}
			t[k] = x
		}
	case []any:
		for i, x := range t {
			t[i] = prune(x)
		}
	}
	return v
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}
