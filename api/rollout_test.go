package api

import (
	"os"
	"path/filepath"
	"testing"
)

// The Deployments of Argo CD's guestbook and of the Kubernetes documentation decode and
// validate as written; revisionHistoryLimit was refused as an unknown field before.
func TestUpstreamDeployments(t *testing.T) {
	for _, name := range []string{"guestbook-ui-deployment.yaml", "nginx-deployment.yaml", "rollout-fields.yaml"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "upstream", name))
			if err != nil {
				t.Fatal(err)
			}
			d := mustDecodeOne(t, name, string(src))
			Default(d.Object)
			if errs := Validate(d); len(errs) > 0 {
				t.Fatalf("errors: %v", errs)
			}
		})
	}
	d := mustDecodeOne(t, "g.yaml", mustRead(t, "guestbook-ui-deployment.yaml")).Object.(*Deployment)
	if d.HistoryLimit() != 3 {
		t.Errorf("guestbook revisionHistoryLimit = %d, want 3", d.HistoryLimit())
	}
	f := mustDecodeOne(t, "f.yaml", mustRead(t, "rollout-fields.yaml")).Object.(*Deployment)
	if s, u := f.RollingBounds(); s != 2 || u != 1 || f.Spec.MinReadySeconds != 5 {
		t.Errorf("rollout-fields bounds = %d, %d; minReadySeconds %d", s, u, f.Spec.MinReadySeconds)
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "upstream", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// RollingBounds rounds as Kubernetes: a surge percentage up, an unavailable one down, and 1
// unavailable when both come to 0.
func TestRollingBounds(t *testing.T) {
	p := func(s string) *IntOrString { v := FromString(s); return &v }
	n := func(i int32) *IntOrString { v := FromInt(i); return &v }
	for _, tt := range []struct {
		name               string
		replicas           int32
		strategy           DeploymentStrategy
		surge, unavailable int
	}{
		{"defaults of 100", 100, DeploymentStrategy{}, 25, 25},
		{"defaults of 10", 10, DeploymentStrategy{}, 3, 2},
		{"defaults of 1", 1, DeploymentStrategy{}, 1, 0},
		{"defaults of 3", 3, DeploymentStrategy{}, 1, 0},
		{"numbers", 10, DeploymentStrategy{RollingUpdate: &RollingUpdateDeployment{MaxSurge: n(2), MaxUnavailable: n(3)}}, 2, 3},
		{"surge 0", 10, DeploymentStrategy{RollingUpdate: &RollingUpdateDeployment{MaxSurge: n(0)}}, 0, 2},
		{"unavailable 0", 10, DeploymentStrategy{RollingUpdate: &RollingUpdateDeployment{MaxUnavailable: p("0%")}}, 3, 0},
		{"both round to 0", 3, DeploymentStrategy{RollingUpdate: &RollingUpdateDeployment{MaxSurge: n(0), MaxUnavailable: p("10%")}}, 0, 1},
		{"unavailable above replicas", 2, DeploymentStrategy{RollingUpdate: &RollingUpdateDeployment{MaxUnavailable: n(5)}}, 1, 2},
		{"recreate", 4, DeploymentStrategy{Type: StrategyRecreate}, 0, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &Deployment{Spec: DeploymentSpec{Replicas: &tt.replicas, Strategy: tt.strategy}}
			if s, u := d.RollingBounds(); s != tt.surge || u != tt.unavailable {
				t.Errorf("RollingBounds = %d, %d; want %d, %d", s, u, tt.surge, tt.unavailable)
			}
		})
	}
}

// Bad rollout fields are errors at their file:line:field.
func TestValidateRollout(t *testing.T) {
	head := `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: busybox:1.36}]}
`
	for _, tt := range []struct {
		name, src string
		want      []string
	}{
		{"both 0", "  strategy:\n    rollingUpdate:\n      maxSurge: 0\n      maxUnavailable: 0%\n",
			[]string{"d.yaml:12: spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when maxSurge is 0: the rollout could never replace a Pod"}},
		{"bad type", "  strategy:\n    type: BlueGreen\n",
			[]string{`d.yaml:10: spec.strategy.type: unsupported value "BlueGreen": use RollingUpdate or Recreate`}},
		{"recreate with rolling update", "  strategy:\n    type: Recreate\n    rollingUpdate: {maxSurge: 1}\n",
			[]string{"d.yaml:11: spec.strategy.rollingUpdate: may not be set when strategy type is Recreate"}},
		{"bad percentage", "  strategy:\n    rollingUpdate:\n      maxSurge: 25 %\n      maxUnavailable: 101%\n",
			[]string{`d.yaml:11: spec.strategy.rollingUpdate.maxSurge: invalid value "25 %": use a number of Pods (2) or a percentage of the replicas ("25%")`,
				"d.yaml:12: spec.strategy.rollingUpdate.maxUnavailable: must be at most 100%, not 101%"}},
		{"negative surge", "  strategy:\n    rollingUpdate:\n      maxSurge: -1\n",
			[]string{"d.yaml:11: spec.strategy.rollingUpdate.maxSurge: must be 0 or more, not -1"}},
		{"deadline not above minReadySeconds", "  minReadySeconds: 30\n  progressDeadlineSeconds: 30\n",
			[]string{"d.yaml:10: spec.progressDeadlineSeconds: progressDeadlineSeconds (30) must be more than minReadySeconds (30): a new Pod could never become available in time"}},
		{"default deadline not above minReadySeconds", "  minReadySeconds: 600\n",
			[]string{"d.yaml:9: spec.minReadySeconds: progressDeadlineSeconds (600 by default) must be more than minReadySeconds (600): a new Pod could never become available in time"}},
		{"negatives", "  minReadySeconds: -1\n  revisionHistoryLimit: -2\n  progressDeadlineSeconds: 0\n",
			[]string{"d.yaml:9: spec.minReadySeconds: must be 0 or more, not -1",
				"d.yaml:10: spec.revisionHistoryLimit: must be 0 or more, not -2",
				"d.yaml:11: spec.progressDeadlineSeconds: must be more than 0, not 0"}},
		{"paused and numbers ok", "  paused: true\n  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 1}\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDecodeOne(t, "d.yaml", head+tt.src)
			Default(d.Object)
			assertErrors(t, Validate(d), tt.want)
		})
	}
}
