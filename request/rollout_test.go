package request

import (
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
)

func TestSettledAndIdleLimit(t *testing.T) {
	web := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"}
	rec := func(health, state string, deadline int) api.HealthStatus {
		return api.HealthStatus{Health: health, Objects: []api.ObjectStatus{{Key: web, Health: health,
			Rollout: &api.RolloutStatus{State: state, DeadlineSeconds: deadline}}}}
	}
	rollsBack := []string{"default/web"}
	for _, tt := range []struct {
		name      string
		h         api.HealthStatus
		rollsBack []string
		settled   bool
		limit     time.Duration
	}{
		{"healthy", rec(api.HealthHealthy, api.RolloutComplete, 600), rollsBack, true, time.Minute},
		{"progressing", rec(api.HealthProgressing, api.RolloutProgressing, 600), nil, false, 630 * time.Second},
		{"degraded, no rollback", rec(api.HealthDegraded, api.RolloutProgressing, 8), nil, true, 38 * time.Second},
		{"degraded, rollback at the deadline", rec(api.HealthDegraded, api.RolloutProgressing, 8), rollsBack, false, 38 * time.Second},
		{"deadline missed", rec(api.HealthDegraded, api.RolloutDeadlineExceeded, 8), rollsBack, true, time.Minute},
		{"missing", api.HealthStatus{Health: api.HealthMissing}, nil, false, time.Minute},
	} {
		if got := Settled(tt.h, tt.rollsBack); got != tt.settled {
			t.Errorf("%s: settled = %v, want %v", tt.name, got, tt.settled)
		}
		if got := IdleLimit(tt.h, time.Minute); got != tt.limit {
			t.Errorf("%s: idle limit = %s, want %s", tt.name, got, tt.limit)
		}
	}
	if n := len(RollingBack(rec(api.HealthDegraded, api.RolloutDeadlineExceeded, 8), rollsBack)); n != 1 {
		t.Errorf("rolling back: %d Deployments, want 1", n)
	}
}
