package endpoints

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/change"
)

// Action is what a pass does to one record (change.Action).
type Action = change.Action

// The actions of a change set.
const (
	Create    = change.Create
	Update    = change.Update
	Delete    = change.Delete
	Unchanged = change.Unchanged
)

// Change is the action planned for the record of one Service.
type Change struct {
	Action Action
	// Name is the Service's "namespace/name".
	Name string
	// Endpoints is the record to write; nil for Delete, and for an Unchanged record that is
	// kept as stored (see Compute).
	Endpoints *api.Endpoints
}

// ChangeSet is the plan of one pass, in name order.
type ChangeSet []Change

// Diff compares the records wanted (Compute's) with those stored, both by "namespace/name",
// and returns one change per name of either. Two records are equal when their JSON is, so that
// a record read back (where an empty list is absent) equals the one computed. It is pure.
func Diff(want map[string]*api.Endpoints, stored map[string]api.Endpoints) ChangeSet {
	names := slices.Sorted(maps.Keys(want))
	for name := range stored {
		if _, ok := want[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out ChangeSet
	for _, name := range names {
		w, wanted := want[name]
		s, ok := stored[name]
		switch {
		case !wanted:
			out = append(out, Change{Action: Delete, Name: name})
		case w == nil && !ok:
			// undecodable and never recorded: nothing to keep
		case w == nil:
			out = append(out, Change{Action: Unchanged, Name: name})
		case !ok:
			out = append(out, Change{Action: Create, Name: name, Endpoints: w})
		case !equal(w, &s):
			out = append(out, Change{Action: Update, Name: name, Endpoints: w})
		default:
			out = append(out, Change{Action: Unchanged, Name: name, Endpoints: w})
		}
	}
	return out
}

// Writes is how many changes of cs write.
func (cs ChangeSet) Writes() int {
	n := 0
	for _, c := range cs {
		if c.Action != Unchanged {
			n++
		}
	}
	return n
}

// String renders one line per change that writes, such as "update default/web".
func (cs ChangeSet) String() string {
	var b strings.Builder
	for _, c := range cs {
		if c.Action != Unchanged {
			fmt.Fprintf(&b, "%s %s\n", c.Action, c.Name)
		}
	}
	return b.String()
}

// equal compares the JSON of a and b; records that cannot be encoded are unequal, so the
// write that follows reports the error.
func equal(a, b *api.Endpoints) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	return errX == nil && errY == nil && bytes.Equal(x, y)
}
