package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestObjectCounts(t *testing.T) {
	h := api.HealthStatus{Objects: []api.ObjectStatus{
		{Key: api.Key{Kind: "Deployment", Name: "web"}, Health: api.HealthHealthy},
		{Key: api.Key{Kind: "Deployment", Name: "api"}, Health: api.HealthDegraded},
		{Key: api.Key{Kind: "ConfigMap", Name: "cfg"}, Health: api.HealthHealthy},
	}}
	got := objectCounts(h)
	want := map[objectKey]int{
		{api.HealthHealthy, "Deployment"}: 1, {api.HealthDegraded, "Deployment"}: 1,
		{api.HealthProgressing, "Deployment"}: 0, {api.HealthMissing, "Deployment"}: 0,
		{api.HealthHealthy, "ConfigMap"}: 1, {api.HealthDegraded, "ConfigMap"}: 0,
		{api.HealthProgressing, "ConfigMap"}: 0, {api.HealthMissing, "ConfigMap"}: 0,
	}
	if len(got) != len(want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%v = %d, want %d", k, got[k], n)
		}
	}
}

// The collectors register on the registry given (two Metrics on two registries do not
// collide), and a sync of api.SyncSynced counts as succeeded.
func TestMetricsOnTheirRegistry(t *testing.T) {
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	m := New(a)
	New(b)
	m.SyncDone(api.SyncSynced, time.Second)
	m.SyncDone(api.SyncSynced, time.Second)
	m.SyncDone(api.SyncFailed, time.Second)
	m.SchedulingPass(0, 0, 0, time.Second) // no Pod tried: not observed
	want := `
# HELP gitfleet_sync_total Sync attempts recorded in the history, by result (succeeded, failed).
# TYPE gitfleet_sync_total counter
gitfleet_sync_total{result="failed"} 1
gitfleet_sync_total{result="succeeded"} 2
`
	if err := testutil.GatherAndCompare(a, strings.NewReader(want), "gitfleet_sync_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(a, "gitfleet_scheduling_attempts_total"); err != nil || n != 0 {
		t.Errorf("scheduling attempts counted: %d series, %v; want none", n, err)
	}
	var nilM *Metrics
	nilM.SyncDone(api.SyncSynced, time.Second) // a nil *Metrics counts nothing
}
