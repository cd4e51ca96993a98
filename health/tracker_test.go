package health

import (
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

func TestTrackerAppliesGraceAndDeadline(t *testing.T) {
	key := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"}
	obj := func(health string, ready int) []api.ObjectStatus {
		return []api.ObjectStatus{{Key: key, Health: health, Ready: ready, Message: "m"}}
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	steps := []struct {
		at         time.Duration
		in         []api.ObjectStatus
		wantHealth string
		wantMsg    string // prefix
		wantSince  time.Duration
	}{
		{0, obj(api.HealthProgressing, 0), api.HealthProgressing, "m", 0},
		{5 * time.Second, obj(api.HealthDegraded, 0), api.HealthProgressing, "m (Degraded if it lasts 20s)", 5 * time.Second},
		{24 * time.Second, obj(api.HealthDegraded, 0), api.HealthProgressing, "m (Degraded", 5 * time.Second},
		{25 * time.Second, obj(api.HealthDegraded, 0), api.HealthDegraded, "m", 5 * time.Second},
		{26 * time.Second, obj(api.HealthProgressing, 1), api.HealthProgressing, "m", 26 * time.Second},
		{26*time.Second + time.Minute - 1, obj(api.HealthProgressing, 1), api.HealthProgressing, "m", 26 * time.Second},
		{26*time.Second + time.Minute, obj(api.HealthProgressing, 1), api.HealthDegraded, ReasonProgressDeadline + ": no progress for 1m0s: m", 26 * time.Second},
		{27*time.Second + time.Minute, obj(api.HealthProgressing, 2), api.HealthProgressing, "m", 27*time.Second + time.Minute},
		{28*time.Second + time.Minute, obj(api.HealthHealthy, 2), api.HealthHealthy, "m", 28*time.Second + time.Minute},
		{time.Hour, obj(api.HealthHealthy, 2), api.HealthHealthy, "m", 28*time.Second + time.Minute},
	}
	tr := NewTracker(Policy{DegradedGrace: 20 * time.Second, ProgressDeadline: time.Minute})
	for i, s := range steps {
		got := tr.Settle(s.in, t0.Add(s.at))[0]
		since := t0.Add(s.wantSince).Format(time.RFC3339)
		if got.Health != s.wantHealth || !strings.HasPrefix(got.Message, s.wantMsg) || got.Since != since {
			t.Errorf("step %d (+%s): got %s %q since %s, want %s %q since %s", i, s.at, got.Health, got.Message,
				got.Since, s.wantHealth, s.wantMsg, since)
		}
	}
}

func TestTrackerNextAndForget(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := NewTracker(Policy{DegradedGrace: 10 * time.Second, ProgressDeadline: time.Minute})
	a := api.ObjectStatus{Key: api.Key{Kind: api.KindPod, Name: "a"}, Health: api.HealthDegraded}
	b := api.ObjectStatus{Key: api.Key{Kind: api.KindPod, Name: "b"}, Health: api.HealthProgressing}
	h := api.ObjectStatus{Key: api.Key{Kind: api.KindPod, Name: "h"}, Health: api.HealthHealthy}
	tr.Settle([]api.ObjectStatus{a, b, h}, t0)
	if next, ok := tr.Next(t0); !ok || !next.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("Next = %v, %v; want the end of a's grace", next, ok)
	}
	if next, ok := tr.Next(t0.Add(10 * time.Second)); !ok || !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Next after the grace = %v, %v; want b's deadline", next, ok)
	}
	tr.Settle([]api.ObjectStatus{h}, t0.Add(time.Second))
	if next, ok := tr.Next(t0); ok {
		t.Fatalf("Next = %v for objects no longer assessed", next)
	}
}

// A Deployment whose rollout is known has the rollout engine's deadline, not the tracker's:
// Progressing stays so past the tracker's deadline, and a missed rollout deadline is Degraded
// at once, without the grace.
func TestTrackerLeavesRolloutsTheirDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := NewTracker(Policy{DegradedGrace: 20 * time.Second, ProgressDeadline: time.Minute})
	key := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"}
	progressing := api.ObjectStatus{Key: key, Health: api.HealthProgressing, Rollout: &api.RolloutStatus{State: api.RolloutProgressing}}
	tr.Settle([]api.ObjectStatus{progressing}, t0)
	if _, ok := tr.Next(t0); ok {
		t.Error("a tracker deadline for a rollout")
	}
	if got := tr.Settle([]api.ObjectStatus{progressing}, t0.Add(time.Hour))[0]; got.Health != api.HealthProgressing {
		t.Errorf("after the tracker's deadline: %s %q", got.Health, got.Message)
	}
	missed := api.ObjectStatus{Key: key, Health: api.HealthDegraded, Message: "m",
		Rollout: &api.RolloutStatus{State: api.RolloutDeadlineExceeded}}
	if got := tr.Settle([]api.ObjectStatus{missed}, t0.Add(time.Hour+time.Second))[0]; got.Health != api.HealthDegraded || got.Message != "m" {
		t.Errorf("a missed rollout deadline: %s %q", got.Health, got.Message)
	}
}
