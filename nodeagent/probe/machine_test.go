package probe

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestMachine feeds each kind of probe a sequence of outcomes, one a period apart, and checks
// the result after each, when the next check is due and when the probe is done.
func TestMachine(t *testing.T) {
	timing := Timing{InitialDelay: 5 * time.Second, Period: 10 * time.Second, Timeout: time.Second, Successes: 1, Failures: 3}
	twice := timing
	twice.Successes = 2
	tests := []struct {
		name     string
		kind     Kind
		timing   Timing
		outcomes []bool
		// results after each outcome, and the change flags
		want    []Result
		changed []bool
		done    bool
	}{
		{"liveness starts alive", Liveness, timing, nil, nil, nil, false},
		{"liveness fails on the third failure in a row", Liveness, timing,
			[]bool{false, false, false}, []Result{Success, Success, Failure}, []bool{false, false, true}, true},
		{"liveness: a pass resets the failures", Liveness, timing,
			[]bool{false, false, true, false, false}, []Result{Success, Success, Success, Success, Success},
			[]bool{false, false, false, false, false}, false},
		{"readiness starts not ready, ready on a pass", Readiness, timing,
			[]bool{true}, []Result{Success}, []bool{true}, false},
		{"readiness: not ready again after 3 failures, ready on one pass", Readiness, timing,
			[]bool{true, false, false, false, true}, []Result{Success, Success, Success, Failure, Success},
			[]bool{true, false, false, true, true}, false},
		{"readiness with successThreshold 2", Readiness, twice,
			[]bool{true, false, true, true}, []Result{Failure, Failure, Failure, Success},
			[]bool{false, false, false, true}, false},
		{"startup passes and is done", Startup, timing,
			[]bool{false, true}, []Result{Unknown, Success}, []bool{false, true}, true},
		{"startup fails after the threshold", Startup, timing,
			[]bool{false, false, false}, []Result{Unknown, Unknown, Failure}, []bool{false, false, true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMachine(tt.kind, tt.timing, t0)
			if want := t0.Add(5 * time.Second); !m.Next().Equal(want) {
				t.Fatalf("first check due %s, want %s (the initial delay)", m.Next(), want)
			}
			at := m.Next()
			for i, ok := range tt.outcomes {
				changed := m.Record(ok, at)
				if m.Result() != tt.want[i] || changed != tt.changed[i] {
					t.Fatalf("after outcome %d (%v): result %s changed %v; want %s, %v", i, ok, m.Result(), changed, tt.want[i], tt.changed[i])
				}
				if want := at.Add(10 * time.Second); !m.Next().Equal(want) {
					t.Fatalf("next due %s, want %s", m.Next(), want)
				}
				at = m.Next()
			}
			if len(tt.outcomes) == 0 && m.Result() != Success {
				t.Fatalf("initial result %s", m.Result())
			}
			if m.Done() != tt.done {
				t.Fatalf("done %v, want %v", m.Done(), tt.done)
			}
		})
	}
}
