package backoff

import (
	"testing"
	"time"
)

func TestNextDoublesWithinJitterAndCaps(t *testing.T) {
	b := New(100*time.Millisecond, time.Second)
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		if got := b.Next(); got < want/2 || got > want {
			t.Fatalf("attempt %d: wait %v, want in [%v, %v]", i, got, want/2, want)
		}
	}
	b.Reset()
	if got := b.Next(); got > 100*time.Millisecond {
		t.Fatalf("after reset: %v, want <= 100ms", got)
	}
}
