// Package wake is the wake-up of a level-triggered loop: a change only says "look again", so any
// number of them before the loop looks are one wake-up, and telling never blocks.
package wake

// Signal holds at most one pending wake-up; receive from it to wait for one.
type Signal chan struct{}

// New returns a Signal with no wake-up pending.
func New() Signal { return make(Signal, 1) }

// Notify leaves a wake-up pending; it never blocks, and one already pending absorbs it.
func (s Signal) Notify() {
	select {
	case s <- struct{}{}:
	default:
	}
}
