package change

import "testing"

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Create: "create", Update: "update", Delete: "delete", Unchanged: "unchanged", 0: "Action(0)"} {
		if got := a.String(); got != want {
			t.Errorf("Action(%d) = %q, want %q", int(a), got, want)
		}
	}
}
