package store_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/store"
)

// TestAuthUpkeepIsQuiet: enabling auth on every start, making node users and changing their
// ConfigMaps while the nodes write, as a cluster does all the time, makes etcd log no failed
// request: a log full of expected failures would hide the real ones.
func TestAuthUpkeepIsQuiet(t *testing.T) {
	logs := &testenv.SyncBuffer{}
	admin, srv := etcdtest.StartTLSLog(t, slog.New(slog.NewTextHandler(logs, nil)))
	ctx := t.Context()
	for range 2 {
		if err := admin.EnableAuth(ctx); err != nil {
			t.Fatal(err)
		}
		if err := admin.EnsureNodeUser(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	a := srv.ConnectAs(t, store.NodeUser("a"))
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for wctx.Err() == nil {
			// Every write must land: a refusal for a change of rights is retried.
			if err := a.PutNode(wctx, &api.Node{Metadata: api.ObjectMeta{Name: "a"}}); err != nil && wctx.Err() == nil {
				t.Errorf("node a writes while its rights change: %v", err)
				return
			}
		}
	})
	for i := range 40 {
		cm := api.Key{Kind: api.KindConfigMap, Namespace: "default", Name: fmt.Sprintf("cm%d", i%3)}
		if err := admin.SetNodeConfigMaps(ctx, "a", []api.Key{cm}); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	wg.Wait()
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "failed to apply request") || strings.Contains(line, "auth revision") {
			t.Errorf("etcd logged: %s", line)
		}
	}
}
