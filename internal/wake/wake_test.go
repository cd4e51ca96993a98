package wake

import "testing"

func TestNotifyCoalesces(t *testing.T) {
	s := New()
	s.Notify()
	s.Notify() // absorbed: must not block
	select {
	case <-s:
	default:
		t.Fatal("no wake-up pending after Notify")
	}
	select {
	case <-s:
		t.Fatal("two wake-ups for two Notify before a look; want one")
	default:
	}
}
