package reconciler

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/workload"
)

// These tests run the sync controller with the workload controller behind it, as up does.

func testRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func TestPushedDeploymentBecomesPods(t *testing.T) {
	ctx := context.Background()
	e := newSyncEnv(t, time.Hour)
	commit := e.sync(t).AppliedCommit
	ctrl := workload.NewController(e.st, fixture.Logger(t), workload.Options{Rand: testRand()})
	if _, err := ctrl.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	pods := fixture.PodsOf(t, e.st, "Deployment/default/web")
	if len(pods) != 2 {
		t.Fatalf("%d pods, want 2", len(pods))
	}
	for _, p := range pods {
		if p.Metadata.Annotations[api.AnnotationCommit] != commit || p.Metadata.Labels["app"] != "web" ||
			p.Spec.RestartPolicy != api.RestartAlways {
			t.Fatalf("pod %s: %+v", p.Metadata.Name, p)
		}
	}
}
