package workload

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

// record is a stored record of d's template hash at revision rev.
func record(d *api.Deployment, hash string, rev int64, replicas int) store.Item[api.ReplicaSet] {
	rs := api.ReplicaSet{Namespace: "default", Deployment: d.Metadata.Name, Name: d.Metadata.Name + "-" + hash,
		TemplateHash: hash, Revision: rev, Replicas: replicas}
	return store.Item[api.ReplicaSet]{Name: store.ReplicaSetName(&rs), Value: rs, ModRevision: rev * 10}
}

func putsOf(p recordPlan) string {
	var out []string
	for _, w := range p.puts {
		out = append(out, fmt.Sprintf("%s rev %d replicas %d (at %d)", w.rs.TemplateHash, w.rs.Revision, w.rs.Replicas, w.modRev))
	}
	return strings.Join(out, "; ")
}

func deletesOf(p recordPlan) string {
	var out []string
	for _, r := range p.deletes {
		out = append(out, r.Value.TemplateHash)
	}
	return strings.Join(out, ",")
}

// The first template gets revision 1; a new one the next revision, the old record the replicas
// the step leaves of it; a template current again is renumbered, as in Kubernetes.
func TestDeploymentRecords(t *testing.T) {
	v1, v2 := fixture.Deployment("web", 4, "nginx:1"), fixture.Deployment("web", 4, "nginx:2")
	v1.Metadata.Annotations = map[string]string{api.AnnotationCommit: "c1"}
	h1, h2 := DeploymentHash(v1, ""), DeploymentHash(v2, "")
	in := deploymentInput{deadline: time.Hour, now: t0}
	p := reconcileDeployment(v1, in, testRand())
	if got := putsOf(p.records); got != h1+" rev 1 replicas 4 (at 0)" {
		t.Fatalf("first pass: %s", got)
	}
	rs := p.records.puts[0].rs
	if rs.Commit != "c1" || rs.Name != "web-"+h1 || rs.Template.Spec.Containers[0].Image != "nginx:1" || rs.Created == "" {
		t.Errorf("record %+v", rs)
	}
	if p.rollout.Revision != 1 || p.rollout.TemplateHash != h1 || p.rollout.State != api.RolloutProgressing {
		t.Errorf("rollout %+v", p.rollout)
	}
	var pods []store.Item[api.Pod]
	for i := range 4 {
		pods = append(pods, livePod(v1, fmt.Sprintf("o%d", i), h1, int64(i+1)))
	}
	in.pods, in.statuses, in.records = pods, ready("o0", "o1", "o2", "o3"), []store.Item[api.ReplicaSet]{record(v1, h1, 1, 4)}
	p = reconcileDeployment(v1, in, testRand())
	if len(p.records.puts) != 0 || p.rollout.State != api.RolloutComplete {
		t.Errorf("steady: puts %s, rollout %+v", putsOf(p.records), p.rollout)
	}
	p = reconcileDeployment(v2, in, testRand()) // 4 replicas, 25 %: surge 1, 1 unavailable
	if got := putsOf(p.records); got != h1+" rev 1 replicas 3 (at 10); "+h2+" rev 2 replicas 2 (at 0)" {
		t.Errorf("new template: %s", got)
	}
	in.records = []store.Item[api.ReplicaSet]{record(v1, h1, 1, 0), record(v2, h2, 2, 4)}
	in.pods, in.statuses = nil, nil
	p = reconcileDeployment(v1, in, testRand())
	if got := putsOf(p.records); got != h1+" rev 3 replicas 4 (at 10); "+h2+" rev 2 replicas 0 (at 20)" || p.rollout.Revision != 3 {
		t.Errorf("back to the first template: %s, rollout revision %d", got, p.rollout.Revision)
	}
}

// Records beyond revisionHistoryLimit go, oldest first, but never the current one nor one
// with Pods; those of a Deployment no longer desired go with its last Pod.
func TestDeploymentRecordsPruned(t *testing.T) {
	d := fixture.Deployment("web", 1, "nginx:5")
	limit := int32(2)
	d.Spec.RevisionHistoryLimit = &limit
	cur := DeploymentHash(d, "")
	records := []store.Item[api.ReplicaSet]{record(d, "h1", 1, 1), record(d, "h2", 2, 0), record(d, "h3", 3, 0),
		record(d, "h4", 4, 0), record(d, cur, 5, 1)}
	pods := []store.Item[api.Pod]{livePod(d, "keep", "h1", 1), livePod(d, "new", cur, 2)}
	in := deploymentInput{pods: pods, statuses: ready("keep", "new"), records: records, deadline: time.Hour, now: t0}
	p := reconcileDeployment(d, in, testRand())
	if deletesOf(p.records) != "h2" {
		t.Errorf("pruned %q, want h2", deletesOf(p.records))
	}
	gone := fixture.Deployment("gone", 1, "x")
	orphans := orphanRecords([]store.Item[api.ReplicaSet]{record(gone, "g1", 1, 0), record(gone, "g2", 2, 1), record(d, "h2", 2, 0)},
		fixture.Desired(1, d), map[api.Key][]store.Item[api.Pod]{api.KeyOf(gone): {livePod(gone, "g", "g2", 3)}})
	if len(orphans) != 1 || orphans[0].Value.TemplateHash != "g1" {
		t.Errorf("orphans %v, want g1 only", orphans)
	}
}

// A rollout that makes no progress for its deadline stops where it is, Degraded with the
// reason its Pods fail; a new template starts a new deadline.
func TestDeploymentProgressDeadline(t *testing.T) {
	d := fixture.Deployment("web", 4, "missing:1")
	secs := int32(10)
	d.Spec.ProgressDeadlineSeconds = &secs
	hash := DeploymentHash(d, "")
	var pods []store.Item[api.Pod]
	for i := range 3 {
		pods = append(pods, livePod(d, fmt.Sprintf("o%d", i), "old", int64(i+1)))
	}
	pods = append(pods, livePod(d, "n0", hash, 4), livePod(d, "n1", hash, 5))
	statuses := ready("o0", "o1", "o2")
	for _, n := range []string{"n0", "n1"} {
		statuses[api.PodKey{Namespace: "default", Name: n}] = api.PodStatus{Phase: api.PodPending, Reason: api.ReasonErrImagePull,
			Message: "container main: pull missing:1: not found"}
	}
	in := deploymentInput{pods: pods, statuses: statuses, deadline: time.Hour, now: t0}
	p := reconcileDeployment(d, in, testRand())
	if p.rollout.State != api.RolloutProgressing || !p.wake.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("at t0: rollout %+v, wake %v", p.rollout, p.wake)
	}
	in.mark, in.now = p.mark, t0.Add(10*time.Second)
	p = reconcileDeployment(d, in, testRand())
	r := p.rollout
	if r.State != api.RolloutDeadlineExceeded || len(p.create) != 0 || len(p.remove) != 0 {
		t.Fatalf("at the deadline: rollout %+v, create %d, remove %d", r, len(p.create), len(p.remove))
	}
	if !strings.Contains(r.Reason, "no progress for 10s") || !strings.Contains(r.Reason, "; ErrImagePull (2 Pods, n0, ...): container main: pull missing:1: not found") ||
		len(r.Failing) != 2 || r.Failing[1].Reason != api.ReasonErrImagePull {
		t.Errorf("reason %q, failing %+v", r.Reason, r.Failing)
	}
	if r.Updated != 2 || r.Ready != 3 || r.Available != 3 || r.Want != 4 || r.Replicas != 5 {
		t.Errorf("counts %+v", r)
	}
	fixed := fixture.Deployment("web", 4, "nginx:1")
	fixed.Spec.ProgressDeadlineSeconds = &secs
	in.mark, in.now = p.mark, t0.Add(20*time.Second)
	if p = reconcileDeployment(fixed, in, testRand()); p.rollout.State != api.RolloutProgressing || len(p.create)+len(p.remove) == 0 {
		t.Errorf("a new template: rollout %+v, create %d, remove %d", p.rollout, len(p.create), len(p.remove))
	}
}

// A paused rollout reports Paused and never misses its deadline.
func TestDeploymentPaused(t *testing.T) {
	d := fixture.Deployment("web", 2, "nginx:2")
	d.Spec.Paused = true
	pods := []store.Item[api.Pod]{livePod(d, "o0", "old", 1), livePod(d, "o1", "old", 2)}
	in := deploymentInput{pods: pods, statuses: ready("o0", "o1"), deadline: time.Second, now: t0}
	p := reconcileDeployment(d, in, testRand())
	in.mark, in.now = p.mark, t0.Add(time.Hour)
	p = reconcileDeployment(d, in, testRand())
	if p.rollout.State != api.RolloutPaused || len(p.create)+len(p.remove) != 0 {
		t.Errorf("paused: rollout %+v, create %d, remove %d", p.rollout, len(p.create), len(p.remove))
	}
}
