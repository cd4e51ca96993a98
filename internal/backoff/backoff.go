// Package backoff gives the capped, jittered, doubling waits every gitfleet loop retries with.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff yields doubling waits from Base up to Max, each jittered into [d/2, d] so that many
// retrying loops do not wake together. The zero value is not usable; use New.
type Backoff struct {
	base, max time.Duration
	failures  int
}

// New returns a Backoff starting at base and capped at max.
func New(base, max time.Duration) *Backoff { return &Backoff{base: base, max: max} }

// Next returns the wait before the next attempt and counts a failure.
func (b *Backoff) Next() time.Duration {
	d := b.base
	for i := 0; i < b.failures && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.failures++
	return d/2 + rand.N(d/2+1)
}

// Reset starts again from base after a success.
func (b *Backoff) Reset() { b.failures = 0 }

// Sleep waits d or until ctx ends, reporting whether it waited the whole d.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
