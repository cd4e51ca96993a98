package netnstest

import (
	"strings"
	"testing"
)

func TestRaceReport(t *testing.T) {
	out := "log line\n==================\nWARNING: DATA RACE\nWrite at 0x1 by goroutine 7:\n  main.f()\n==================\nmore logs\n"
	got := raceReport(out)
	if !strings.Contains(got, "WARNING: DATA RACE\nWrite at 0x1 by goroutine 7:\n  main.f()") || strings.Contains(got, "more logs") {
		t.Errorf("raceReport = %q", got)
	}
	if got := raceReport("no race here\n"); got != "" {
		t.Errorf("raceReport without a race = %q", got)
	}
}
