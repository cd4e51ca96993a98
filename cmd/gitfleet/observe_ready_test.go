package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/dashboard"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// TestReadyzPerRole: /readyz answers 503 with each role's reason until the controller's
// election has a leader and the source a sync status, the scheduler's a leader and a record
// of the nodes, and the node is registered with a live heartbeat; then 200, all "ok".
func TestReadyzPerRole(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	o := newObserve()
	o.checkEtcd(st)
	o.checkElected("controller", store.ElectionController, st, controllerReady(st))
	o.checkElected("scheduler", store.ElectionScheduler, st, schedulerReady(st))
	o.checkNode(st, "n1")
	mux := http.NewServeMux()
	o.register(mux, nil)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	readyz := func() (int, map[string]string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	code, m := readyz()
	want := map[string]string{"etcd": "ok", "controller": "no leader elected yet", "scheduler": "no leader elected yet", "agent": "node n1 not registered yet"}
	if code != http.StatusServiceUnavailable || !sameAnswers(m, want) {
		t.Errorf("/readyz before = %d %v, want 503 %v", code, m, want)
	}

	lease, err := st.GrantLease(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{store.ElectionController, store.ElectionScheduler} {
		if _, err := st.Client().Put(ctx, store.LeaderPrefix(role)+"/candidate", "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: "n1"}, Status: api.NodeStatus{HostID: "h"}}); err != nil {
		t.Fatal(err)
	}
	code, m = readyz()
	want = map[string]string{"etcd": "ok", "controller": "not synced yet", "scheduler": "caches not primed yet: no record of the nodes", "agent": "node n1: no live heartbeat"}
	if code != http.StatusServiceUnavailable || !sameAnswers(m, want) {
		t.Errorf("/readyz with leaders = %d %v, want 503 %v", code, m, want)
	}

	if _, err := st.CommitSync(ctx, store.SyncRecord{Status: api.SyncStatus{Source: api.DefaultSource, Sync: api.SyncSynced}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutNodesStatus(ctx, api.NodesStatus{Total: 1, Ready: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutNodeLease(ctx, "n1", lease); err != nil {
		t.Fatal(err)
	}
	code, m = readyz()
	want = map[string]string{"etcd": "ok", "controller": "ok", "scheduler": "ok", "agent": "ok"}
	if code != http.StatusOK || !sameAnswers(m, want) {
		t.Errorf("/readyz ready = %d %v, want 200 %v", code, m, want)
	}
	if resp, err := http.Get(srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", resp, err)
	}
}

func sameAnswers(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMetricsLogin: with the dashboard's token file, /metrics answers loopback clients and a
// viewer's bearer token, and refuses other clients without one.
func TestMetricsLogin(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("viewer-token-0123456789 viewer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := dashboard.ReadTokens(file)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	newObserve().register(mux, tokens)
	for _, tc := range []struct {
		remote, auth string
		code         int
	}{
		{"127.0.0.1:4000", "", 200},
		{"192.0.2.7:4000", "", 401},
		{"192.0.2.7:4000", "Bearer wrong-token-0123456789", 401},
		{"192.0.2.7:4000", "Bearer viewer-token-0123456789", 200},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = tc.remote
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != tc.code {
			t.Errorf("from %s with %q: %d, want %d", tc.remote, tc.auth, w.Code, tc.code)
		}
	}
}
