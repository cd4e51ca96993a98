package reconciler

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Action is what a sync does to one desired object. The set is closed.
type Action int

// The actions of a change set.
const (
	Create Action = iota + 1
	Update
	Delete
	Unchanged
)

// String returns the action's name.
func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case Unchanged:
		return "unchanged"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// symbol is the action's mark in rendered output.
func (a Action) symbol() string {
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
	c := compareKeys(a.Key, b.Key)
	if ad {
		return -c
	}
	return c
}

// compareKeys orders keys by kindRank, then kind, namespace and name.
func compareKeys(a, b api.Key) int {
	return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// kindRank is the place of a kind in the apply order: Namespaces hold everything else, and
// workloads read ConfigMaps.
func kindRank(kind string) int {
	switch kind {
	case api.KindNamespace:
		return 0
	case api.KindConfigMap:
		return 1
	case api.KindDeployment, api.KindPod:
		return 2
	}
	return 3
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
			fmt.Fprintf(&b, "%s %s\n", c.Action.symbol(), c.Key)
		}
	}
	return b.String()
}

// Render writes the lines of String, each update followed by its changed fields, indented.
func (cs ChangeSet) Render(w io.Writer) error {
	var b strings.Builder
	for _, c := range cs.Changes {
		if c.Action == Unchanged {
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", c.Action.symbol(), c.Key)
		for _, f := range c.Fields() {
			fmt.Fprintf(&b, "    %s: %s -> %s\n", f.Path, f.Old, f.New)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write change set: %w", err)
	}
	return nil
}

// FieldChange is one leaf value an update changes; Old or New is "<none>" when absent.
type FieldChange struct {
	Path, Old, New string
}

// Fields lists the leaf values an Update changes, sorted by path; nil for other actions.
func (c Change) Fields() []FieldChange {
	if c.Action != Update {
		return nil
	}
	old, cur := map[string]string{}, map[string]string{}
	flatten("", canonicalOrNil(c.Live), old)
	flatten("", canonicalOrNil(c.Object), cur)
	var out []FieldChange
	for _, p := range slices.Sorted(maps.Keys(union(old, cur))) {
		o, ook := old[p]
		n, nok := cur[p]
		if ook && nok && o == n {
			continue
		}
		out = append(out, FieldChange{Path: p, Old: orNone(o, ook), New: orNone(n, nok)})
	}
	return out
}

func union(a, b map[string]string) map[string]string {
	u := maps.Clone(a)
	maps.Copy(u, b)
	return u
}

func orNone(v string, ok bool) string {
	if !ok {
		return "<none>"
	}
	return v
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

// canonicalOrNil is canonical(obj), or nil when obj is nil (a value that could not be decoded)
// or cannot be encoded.
func canonicalOrNil(obj api.Object) any {
	if obj == nil {
		return nil
	}
	v, err := canonical(obj)
	if err != nil {
		return nil
	}
	return v
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

// flatten records every leaf of v under its path, such as spec.template.spec.containers[0].image.
func flatten(path string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			flatten(joinPath(path, k), x, out)
		}
	case []any:
		for i, x := range t {
			flatten(fmt.Sprintf("%s[%d]", path, i), x, out)
		}
	case string:
		out[path] = fmt.Sprintf("%q", t)
	case float64:
		out[path] = strconv.FormatFloat(t, 'f', -1, 64)
	case nil:
	default:
		out[path] = fmt.Sprint(t)
	}
}

// joinPath appends key to path, quoting keys that hold dots or slashes (labels, annotations).
func joinPath(path, key string) string {
	if strings.ContainsAny(key, "./") {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}
