package reconciler

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/source"
)

// TestControllerRefusesClusterIPOutsideItsCIDR: a commit whose Service asks for an address the
// controller's service CIDR cannot give is refused whole, at its line, and the last good state
// stays; the same commit is valid for a controller configured with a CIDR that holds it.
func TestControllerRefusesClusterIPOutsideItsCIDR(t *testing.T) {
	e := newSyncEnv(t, time.Hour)
	good := e.sync(t).AppliedCommit
	e.remote.Write("deploy/web-svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: 10.0.0.5\n  selector: {app: web}\n  ports: [{port: 80}]\n")
	e.remote.Write("deploy/web.yaml", fixture.DeploymentYAML("web", 3, "nginx:1.27"))
	e.remote.CommitAndPush("web: 3 replicas and an address out of range")
	st := e.sync(t)
	if st.Sync != api.SyncFailed || st.AppliedCommit != good || len(st.Errors) != 1 ||
		!strings.Contains(st.Errors[0].Error(), "web-svc.yaml:6: spec.clusterIP: clusterIP 10.0.0.5 is outside the service CIDR 10.96.0.0/16") {
		t.Fatalf("status = %+v", st)
	}
	if replicasOf(t, e.desired(t), webKey) != 2 {
		t.Fatal("a refused commit changed the desired state")
	}

	src, err := source.New(source.Config{URL: e.remote.URL(), Path: "deploy", CacheDir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	rules := api.Rules{ServiceCIDR: netip.MustParsePrefix("10.0.0.0/24")}
	other := New(e.st, src, fixture.Logger(t), Options{Now: fixedNow, Rules: rules})
	st, err = other.SyncOnce(context.Background())
	if err != nil || st.Sync != api.SyncSynced || len(st.Errors) != 0 {
		t.Fatalf("with service CIDR 10.0.0.0/24: %+v, %v", st, err)
	}
	if replicasOf(t, e.desired(t), webKey) != 3 {
		t.Fatal("the valid commit was not applied")
	}
}
