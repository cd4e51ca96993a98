package scheduler

import (
	"math/rand/v2"
	"time"
)

// backoff yields doubling waits from base up to max, each jittered down by up to a half.
type backoff struct {
	base, max time.Duration
	failures  int
}

func newBackoff(base, max time.Duration) *backoff { return &backoff{base: base, max: max} }

// next returns the wait before the next attempt and counts a failure.
func (b *backoff) next() time.Duration {
	d := b.base
	for i := 0; i < b.failures && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	b.failures++
	return d/2 + rand.N(d/2+1)
}

// reset starts again from base after a success.
func (b *backoff) reset() { b.failures = 0 }
