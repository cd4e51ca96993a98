// Package change names what a diff plans for one object or record: the closed set of actions
// of a change set, shared by the sync's plan (package reconciler) and the endpoints
// controller's, so that logs and output read the same.
package change

import "fmt"

// Action is what a plan does to one object or record. The set is closed.
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
