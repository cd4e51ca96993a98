package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

func TestStatusShowsCommitPinAndHealth(t *testing.T) {
	ctx := context.Background()
	s, eps := etcdtest.StartWithEndpoints(t)
	d := webDeployment(2)
	st := api.SyncStatus{Source: syncSource, Branch: "main", SeenCommit: fakeCommit, AppliedCommit: fakeCommit,
		Sync: api.SyncSynced, PinnedCommit: fakeCommit, Errors: []api.FieldError{},
		Commit: api.CommitInfo{Hash: fakeCommit, Author: "Ada <ada@example.org>", Message: "deploy web", Time: "2026-01-02T03:04:05Z"}}
	if _, err := s.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(d), Object: d}}, Status: st}); err != nil {
		t.Fatal(err)
	}
	h := api.HealthStatus{Source: syncSource, AppliedCommit: fakeCommit, Health: api.HealthProgressing,
		Objects: []api.ObjectStatus{webStatus(api.HealthProgressing, 1, 2, "1/2 ready")}, Ready: 1, Want: 2,
		Pods: api.PodCounts{Total: 1, Running: 1, Ready: 1}}
	if err := s.PutHealth(ctx, h); err != nil {
		t.Fatal(err)
	}
	conn := "--etcd-endpoints=" + strings.Join(eps, ",")

	out, stderr, err := runCLI("status", conn)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, stderr)
	}
	wantLines(t, out,
		"sync:      Synced",
		"health:    Progressing",
		"commit:    c0ffee012345 Ada <ada@example.org>, 2026-01-02T03:04:05Z: deploy web",
		"pinned:    c0ffee012345 (rolled back; 'gitfleet sync --resume' follows the branch again)",
		"KIND/NS/NAME ",
		"Deployment/default/web   Synced   Progressing   1/2 ready")

	out, stderr, err = runCLI("status", "-o", "json", conn)
	if err != nil {
		t.Fatalf("status -o json: %v\n%s", err, stderr)
	}
	var got struct {
		AppliedCommit string              `json:"appliedCommit"`
		Sync          string              `json:"sync"`
		Errors        []api.FieldError    `json:"errors"`
		Health        string              `json:"health"`
		Objects       []api.ObjectStatus  `json:"objects"`
		Pods          struct{ Total int } `json:"pods"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.AppliedCommit != fakeCommit || got.Sync != "Synced" || got.Errors == nil || got.Health != "Progressing" ||
		len(got.Objects) != 1 || got.Objects[0].Message != "1/2 ready" || got.Pods.Total != 1 {
		t.Fatalf("status -o json = %+v\n%s", got, out)
	}
}
