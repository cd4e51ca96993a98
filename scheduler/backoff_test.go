package scheduler

import (
	"testing"
	"time"
)

func TestBackoffDoublesJittersAndCaps(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	for i, ceiling := range []time.Duration{100, 200, 400, 800, 1000, 1000, 1000} {
		ceiling *= time.Millisecond
		if d := b.next(); d < ceiling/2 || d > ceiling {
			t.Fatalf("wait %d = %v, want in [%v, %v]", i, d, ceiling/2, ceiling)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Fatalf("after reset: %v, want at most 100ms", d)
	}
}
