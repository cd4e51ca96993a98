package reconciler

import (
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

func TestDecideRollbackTable(t *testing.T) {
	const (
		a = "aaaa000000000000000000000000000000000000"
		b = "bbbb000000000000000000000000000000000000"
		f = "ffff000000000000000000000000000000000000"
	)
	web := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "web"}
	api2 := api.Key{Kind: api.KindDeployment, Namespace: "shop", Name: "api"}
	entry := func(id int64, commit string, healthy bool) api.HistoryEntry {
		return api.HistoryEntry{ID: id, Commit: api.CommitInfo{Hash: commit}, Result: api.SyncSynced, Healthy: healthy}
	}
	// history: a healthy, b healthy, a failed attempt, then f applied.
	history := []api.HistoryEntry{entry(1, a, true), entry(2, b, true),
		{ID: 3, Commit: api.CommitInfo{Hash: "cccc"}, Result: api.SyncFailed}, entry(4, f, false)}
	rollout := func(k api.Key, state string) api.ObjectStatus {
		return api.ObjectStatus{Key: k, Health: api.HealthDegraded,
			Rollout: &api.RolloutStatus{State: state, Reason: "no progress for 8s: 2 Pods ErrImagePull"}}
	}
	failed := api.HealthStatus{AppliedCommit: f, Health: api.HealthDegraded,
		Objects: []api.ObjectStatus{rollout(web, api.RolloutDeadlineExceeded)}}
	const reason = "web ProgressDeadlineExceeded: no progress for 8s: 2 Pods ErrImagePull"
	at := func(commit string) api.SyncStatus { return api.SyncStatus{AppliedCommit: commit} }
	rollsBack := map[api.Key]bool{web: true}
	tests := []struct {
		name string
		in   RollbackInput
		want RollbackAction
		// entry, target and message check the decision's details when set.
		entry         int64
		target, msg   string
		reasonChecked bool
	}{
		{name: "health of another commit", in: RollbackInput{Status: at(f), Health: api.HealthStatus{AppliedCommit: b, Health: api.HealthHealthy}, History: history}},
		{name: "healthy: mark its entry", in: RollbackInput{Status: at(f), Health: api.HealthStatus{AppliedCommit: f, Health: api.HealthHealthy}, History: history},
			want: RollbackMarkHealthy, entry: 4},
		{name: "healthy and marked", in: RollbackInput{Status: at(b), Health: api.HealthStatus{AppliedCommit: b, Health: api.HealthHealthy}, History: history[:2]}},
		{name: "degraded, rollout still progressing", in: RollbackInput{Status: at(f), Health: api.HealthStatus{AppliedCommit: f, Health: api.HealthDegraded,
			Objects: []api.ObjectStatus{rollout(web, api.RolloutProgressing)}}, History: history, RollsBack: rollsBack}},
		{name: "deadline missed, not rolling back", in: RollbackInput{Status: at(f), Health: failed, History: history, RollsBack: map[api.Key]bool{api2: true}}},
		{name: "deadline missed: pin the newest earlier healthy commit", in: RollbackInput{Status: at(f), Health: failed, History: history, RollsBack: rollsBack},
			want: RollbackPin, target: b, reasonChecked: true},
		{name: "no earlier healthy commit", in: RollbackInput{Status: at(f), Health: failed, History: []api.HistoryEntry{entry(1, a, false), entry(2, f, false)}, RollsBack: rollsBack},
			want: RollbackRefuse, msg: "no automatic rollback: no earlier commit of the history became Healthy"},
		{name: "a healthy entry of the failing commit does not count", in: RollbackInput{Status: at(f), Health: failed, History: []api.HistoryEntry{entry(1, f, true), entry(2, f, false)}, RollsBack: rollsBack},
			want: RollbackRefuse, msg: "no earlier commit"},
		{name: "refusal already recorded", in: RollbackInput{Status: api.SyncStatus{AppliedCommit: f, AutoRollback: &api.RollbackNote{Commit: f, Reason: reason,
			Message: "no automatic rollback: no earlier commit of the history became Healthy"}}, Health: failed, History: []api.HistoryEntry{entry(1, f, false)}, RollsBack: rollsBack}},
		{name: "pinned already, pass pending", in: RollbackInput{Status: at(f), Health: failed, History: history, RollsBack: rollsBack, Pin: &api.Pin{Commit: b, From: f}}},
		{name: "the rollback's target fails too", in: RollbackInput{Status: at(b), Health: api.HealthStatus{AppliedCommit: b, Health: api.HealthDegraded,
			Objects: failed.Objects}, History: append(history, api.HistoryEntry{ID: 5, Commit: api.CommitInfo{Hash: b}, Result: api.SyncSynced, Rollback: true, RollbackFrom: f}),
			RollsBack: rollsBack, Pin: &api.Pin{Commit: b, From: f}},
			want: RollbackRefuse, msg: "the automatic rollback from ffff00000000 to bbbb00000000 failed too; staying Degraded"},
		{name: "pinned by hand", in: RollbackInput{Status: at(f), Health: failed, History: history, RollsBack: rollsBack, Pin: &api.Pin{Commit: f}},
			want: RollbackRefuse, msg: "no automatic rollback: pinned by hand"},
		{name: "a pin not applied yet", in: RollbackInput{Status: at(f), Health: failed, History: history, RollsBack: rollsBack, Pin: &api.Pin{Commit: a}}},
		{name: "rolled back once already", in: RollbackInput{Status: at(f), Health: failed, RollsBack: rollsBack,
			History: append(history, api.HistoryEntry{ID: 5, Commit: api.CommitInfo{Hash: b}, Result: api.SyncSynced, Rollback: true, RollbackFrom: f}, entry(6, f, false))},
			want: RollbackRefuse, msg: "ffff00000000 was rolled back automatically once already"},
		{name: "no commit applied", in: RollbackInput{Health: api.HealthStatus{Health: api.HealthHealthy}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := DecideRollback(tt.in)
			if d.Action != tt.want {
				t.Fatalf("action = %s (%+v), want %s", d.Action, d, tt.want)
			}
			if tt.entry != 0 && d.EntryID != tt.entry {
				t.Errorf("entry = %d, want %d", d.EntryID, tt.entry)
			}
			if tt.target != "" && (d.Note.Target != tt.target || d.Note.Commit != tt.in.Status.AppliedCommit) {
				t.Errorf("note = %+v, want %s replacing %s", d.Note, tt.target, tt.in.Status.AppliedCommit)
			}
			if tt.reasonChecked && d.Note.Reason != reason {
				t.Errorf("reason = %q, want %q", d.Note.Reason, reason)
			}
			if tt.msg != "" && (!strings.Contains(d.Note.Message, tt.msg) || d.Note.Target != "") {
				t.Errorf("note = %+v, want a message with %q", d.Note, tt.msg)
			}
		})
	}
}

func TestRollbackNoteCarried(t *testing.T) {
	refusal := &api.RollbackNote{Commit: "b", Reason: "r", Message: "failed too"}
	auto := api.Pin{Commit: "b", From: "f", Reason: "r"}
	for _, tt := range []struct {
		name    string
		prev    *api.RollbackNote
		pin     api.Pin
		applied string
		want    *api.RollbackNote
	}{
		{"none", nil, api.Pin{}, "f", nil},
		{"the automatic pin's", nil, auto, "b", &api.RollbackNote{Commit: "f", Target: "b", Reason: "r"}},
		{"a refusal while its commit is applied", refusal, auto, "b", refusal},
		{"a refusal ends with its commit", refusal, api.Pin{}, "g", nil},
		{"a pin by hand says nothing", &api.RollbackNote{Commit: "f", Target: "b"}, api.Pin{Commit: "b"}, "b", nil},
	} {
		if got := rollbackNote(tt.prev, tt.pin, tt.applied); !sameNote(got, tt.want) {
			t.Errorf("%s: note = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
