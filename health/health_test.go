package health_test

import (
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/health"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/workload"
)

func healthDeployment(replicas int32) *api.Deployment {
	return &api.Deployment{
		TypeMeta: api.TypeMeta{APIVersion: "apps/v1", Kind: api.KindDeployment},
		Metadata: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.DeploymentSpec{Replicas: &replicas, Template: api.PodTemplateSpec{
			Metadata: api.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:     api.PodSpec{Containers: []api.Container{{Name: "c", Image: "busybox"}}},
		}},
	}
}

// ownedPod is a Pod of owner with template hash and status st.
func ownedPod(name string, owner api.Key, hash string, st api.PodStatus) api.Pod {
	return api.Pod{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: api.ObjectMeta{Name: name, Namespace: "default",
			Labels:      map[string]string{api.LabelTemplateHash: hash},
			Annotations: map[string]string{api.AnnotationOwner: owner.String()}},
		Status: st,
	}
}

var (
	running     = api.PodStatus{Phase: api.PodRunning, Ready: true}
	pending     = api.PodStatus{Phase: api.PodPending, Reason: "ContainerCreating", Message: "waiting for the pod's containers to be created"}
	failed      = api.PodStatus{Phase: api.PodFailed, Reason: "Error", Message: "c: exited with code 1"}
	crashing    = api.PodStatus{Phase: api.PodRunning, Restarts: 3, Message: "c: exited with code 1, restarting"}
	unscheduled = api.PodStatus{Phase: api.PodPending, Reason: api.ReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient memory."}
)

func TestHealthOfDeployment(t *testing.T) {
	d := healthDeployment(2)
	key := api.KeyOf(d)
	cur := api.TemplateHash(&d.Spec.Template)
	pod := func(name, hash string, st api.PodStatus) api.Pod { return ownedPod(name, key, hash, st) }
	tests := []struct {
		name        string
		replicas    int32
		pods        []api.Pod
		health, msg string
	}{
		{"all ready", 2, []api.Pod{pod("a", cur, running), pod("b", cur, running)}, api.HealthHealthy, "2/2 ready"},
		{"no pods", 2, nil, api.HealthMissing, "0/2 ready; no pods yet"},
		{"zero replicas, no pods", 0, nil, api.HealthHealthy, "0/0 ready"},
		{"zero replicas, pods left", 0, []api.Pod{pod("a", cur, running)}, api.HealthProgressing, "1/0 ready; scaling down: 1 pods"},
		{"one pending", 2, []api.Pod{pod("a", cur, running), pod("b", cur, pending)}, api.HealthProgressing,
			"1/2 ready; b: waiting for the pod's containers to be created"},
		{"one missing", 2, []api.Pod{pod("a", cur, running)}, api.HealthProgressing, "1/2 ready"},
		{"scale down", 2, []api.Pod{pod("a", cur, running), pod("b", cur, running), pod("c", cur, running)},
			api.HealthProgressing, "3/2 ready; scaling down: 3 pods"},
		{"rollout", 2, []api.Pod{pod("a", cur, running), pod("b", cur, running), pod("o", "old", running)},
			api.HealthProgressing, "2/2 ready; rolling out: 2 of 2 new pods, 1 old left"},
		{"only old pods", 2, []api.Pod{pod("o", "old", running), pod("p", "old", running)},
			api.HealthProgressing, "0/2 ready; rolling out: 0 of 2 new pods, 2 old left"},
		{"failed", 2, []api.Pod{pod("a", cur, running), pod("b", cur, failed)}, api.HealthDegraded,
			"1/2 ready; b: failed: c: exited with code 1"},
		{"crash loop", 2, []api.Pod{pod("a", cur, crashing), pod("b", cur, running)}, api.HealthDegraded,
			"1/2 ready; a: restarted 3 times, not ready: c: exited with code 1, restarting"},
		{"unschedulable", 2, []api.Pod{pod("a", cur, running), pod("web-x", cur, unscheduled)}, api.HealthDegraded,
			"1/2 ready; web-x: 0/1 nodes are available: 1 Insufficient memory."},
		{"old pod failing is not the rollout's fault", 1, []api.Pod{pod("a", cur, running), pod("o", "old", failed)},
			api.HealthProgressing, "1/1 ready; rolling out: 1 of 1 new pods, 1 old left"},
		{"restarted but ready again", 1, []api.Pod{pod("a", cur, api.PodStatus{Phase: api.PodRunning, Ready: true, Restarts: 2})},
			api.HealthHealthy, "1/1 ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := healthDeployment(tt.replicas)
			// Pods of another owner never count.
			pods := append(tt.pods, ownedPod("stranger", api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "other"}, cur, failed))
			got := assess(map[api.Key]store.DesiredObject{key: {Object: d}}, pods)
			if len(got) != 1 {
				t.Fatalf("got %d statuses, want 1", len(got))
			}
			if g := got[0]; g.Key != key || g.Sync != api.SyncSynced || g.Health != tt.health || g.Message != tt.msg {
				t.Errorf("got %s %s %q, want %s %q", g.Sync, g.Health, g.Message, tt.health, tt.msg)
			}
		})
	}
}

func TestHealthOfPodManifest(t *testing.T) {
	desired := &api.Pod{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: api.ObjectMeta{Name: "job", Namespace: "default",
			Annotations: map[string]string{api.AnnotationCommit: "c1", api.AnnotationSource: "job.yaml:1"}},
		Spec: api.PodSpec{Containers: []api.Container{{Name: "c", Image: "busybox"}}, RestartPolicy: api.RestartNever},
	}
	key := api.KeyOf(desired)
	hash := workload.CurrentHash(desired, nil)
	pod := func(name, hash string, st api.PodStatus) api.Pod { return ownedPod(name, key, hash, st) }
	tests := []struct {
		name        string
		pods        []api.Pod
		health, msg string
	}{
		{"running", []api.Pod{pod("job", hash, running)}, api.HealthHealthy, "Running"},
		{"succeeded", []api.Pod{pod("job", hash, api.PodStatus{Phase: api.PodSucceeded})}, api.HealthHealthy, "Succeeded"},
		{"missing", nil, api.HealthMissing, "no pod yet"},
		{"pending", []api.Pod{pod("job", hash, pending)}, api.HealthProgressing, "job: waiting for the pod's containers to be created"},
		{"old spec", []api.Pod{pod("job", "old", running)}, api.HealthProgressing, "replacing the pod with one of the new spec"},
		{"failed", []api.Pod{pod("job", hash, failed)}, api.HealthDegraded, "job: failed: c: exited with code 1"},
		{"unschedulable", []api.Pod{pod("job", hash, unscheduled)}, api.HealthDegraded,
			"job: 0/1 nodes are available: 1 Insufficient memory."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assess(map[api.Key]store.DesiredObject{key: {Object: desired}}, tt.pods)
			if g := got[0]; g.Health != tt.health || g.Message != tt.msg {
				t.Errorf("got %s %q, want %s %q", g.Health, g.Message, tt.health, tt.msg)
			}
		})
	}
}

func TestHealthOrderUndecodableAndOtherKinds(t *testing.T) {
	d := healthDeployment(1)
	node := &api.Node{TypeMeta: api.TypeMeta{Kind: api.KindNode}, Metadata: api.ObjectMeta{Name: "n1"}}
	broken := api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "broken"}
	desired := map[api.Key]store.DesiredObject{
		api.KeyOf(d):    {Object: d},
		api.KeyOf(node): {Object: node},
		broken:          {},
	}
	got := assess(desired, []api.Pod{ownedPod("web-1", api.KeyOf(d), api.TemplateHash(&d.Spec.Template), running)})
	var lines []string
	for _, s := range got {
		lines = append(lines, s.Key.String()+" "+s.Sync+" "+s.Health)
	}
	want := "Deployment/default/broken OutOfSync Missing|Deployment/default/web Synced Healthy|Node//n1 Synced Healthy"
	if g := strings.Join(lines, "|"); g != want {
		t.Fatalf("got  %s\nwant %s", g, want)
	}
	if a := health.Aggregate(got); a != api.HealthMissing {
		t.Fatalf("aggregate = %s, want Missing", a)
	}
}

func TestAggregate(t *testing.T) {
	st := func(hs ...string) []api.ObjectStatus {
		var out []api.ObjectStatus
		for _, h := range hs {
			out = append(out, api.ObjectStatus{Health: h})
		}
		return out
	}
	tests := []struct {
		in   []api.ObjectStatus
		want string
	}{
		{nil, api.HealthHealthy},
		{st(api.HealthHealthy, api.HealthHealthy), api.HealthHealthy},
		{st(api.HealthHealthy, api.HealthProgressing), api.HealthProgressing},
		{st(api.HealthMissing, api.HealthProgressing), api.HealthMissing},
		{st(api.HealthProgressing, api.HealthDegraded, api.HealthMissing), api.HealthDegraded},
	}
	for _, tt := range tests {
		if got := health.Aggregate(tt.in); got != tt.want {
			t.Errorf("health.Aggregate(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestReadyAndWantCounts(t *testing.T) {
	d := healthDeployment(3)
	hash := api.TemplateHash(&d.Spec.Template)
	desired := map[api.Key]store.DesiredObject{api.KeyOf(d): {Object: d}}
	pods := []api.Pod{ownedPod("a", api.KeyOf(d), hash, running), ownedPod("b", api.KeyOf(d), hash, pending)}
	if got := assess(desired, pods); got[0].Ready != 1 || got[0].Want != 3 {
		t.Fatalf("ready/want = %d/%d, want 1/3", got[0].Ready, got[0].Want)
	}
}

// assess is health.Assess with the hashes the workload controller would pass.
func assess(desired map[api.Key]store.DesiredObject, pods []api.Pod) []api.ObjectStatus {
	return health.Assess(health.Input{Desired: desired, Pods: pods, Hashes: workload.CurrentHashes(desired)})
}

// TestHealthOfService: a Service is judged by the Pods its selector matches, counted as the
// endpoints controller counts them; one without a selector is Healthy once applied.
func TestHealthOfService(t *testing.T) {
	web := map[string]string{"app": "web"}
	svc := func(selector map[string]string) *api.Service {
		return &api.Service{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindService},
			Metadata: api.ObjectMeta{Name: "web", Namespace: "default"},
			Spec:     api.ServiceSpec{Selector: selector, Ports: []api.ServicePort{{Port: 80}}}}
	}
	pod := func(name, ns string, labels map[string]string, st api.PodStatus) api.Pod {
		if st.Phase == api.PodRunning {
			st.PodIP = "10.244.0.9"
		}
		return api.Pod{Metadata: api.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Status: st}
	}
	lost := api.PodStatus{Phase: api.PodUnknown, Reason: api.ReasonNodeLost, PodIP: "10.244.0.8"} // as MergeStatuses leaves it
	done := api.PodStatus{Phase: api.PodSucceeded}
	for _, tt := range []struct {
		name        string
		svc         *api.Service
		pods        []api.Pod
		health, msg string
	}{
		{"one of three ready", svc(web), []api.Pod{pod("a", "default", web, running), pod("b", "default", web, pending),
			pod("c", "default", web, lost)}, api.HealthHealthy, "1 of 3 Pods selected by app=web are ready"},
		{"none ready, one starting", svc(web), []api.Pod{pod("a", "default", web, pending), pod("b", "default", web, lost), pod("c", "default", web, crashing)},
			api.HealthProgressing, "waiting for a ready endpoint: 0 of 3 Pods selected by app=web are ready"},
		{"none ready, none starting", svc(web), []api.Pod{pod("b", "default", web, lost), pod("c", "default", web, crashing)},
			api.HealthDegraded, "no ready endpoint: 0 of 2 Pods selected by app=web are ready"},
		{"ready without an IP is no endpoint", svc(web), []api.Pod{{Metadata: api.ObjectMeta{Name: "a", Namespace: "default", Labels: web}, Status: running}},
			api.HealthDegraded, "no ready endpoint: 0 of 1 Pods selected by app=web are ready"},
		{"no match: other labels, namespace, finished", svc(web), []api.Pod{pod("a", "default", map[string]string{"app": "db"}, running),
			pod("b", "prod", web, running), pod("c", "default", web, done)}, api.HealthDegraded, "no Pod matches selector app=web"},
		{"two labels", svc(map[string]string{"tier": "front", "app": "web"}), nil, api.HealthDegraded, "no Pod matches selector app=web,tier=front"},
		{"no selector", svc(nil), nil, api.HealthHealthy, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := assess(map[api.Key]store.DesiredObject{api.KeyOf(tt.svc): {Object: tt.svc}}, tt.pods)
			if g := got[0]; g.Health != tt.health || g.Message != tt.msg || g.Ready != 0 || g.Want != 0 {
				t.Errorf("got %s %q (%d/%d), want %s %q (0/0)", g.Health, g.Message, g.Ready, g.Want, tt.health, tt.msg)
			}
		})
	}
}

// A Deployment's rollout is recorded with it; one that missed its deadline is Degraded with
// the rollout's reason.
func TestHealthOfRollout(t *testing.T) {
	d := healthDeployment(2)
	desired := map[api.Key]store.DesiredObject{api.KeyOf(d): {Object: d}}
	r := api.RolloutStatus{Revision: 2, State: api.RolloutDeadlineExceeded, Reason: "no progress for 10s: web-x: ErrImagePull"}
	got := health.Assess(health.Input{Desired: desired, Hashes: workload.CurrentHashes(desired),
		Rollouts: map[api.Key]api.RolloutStatus{api.KeyOf(d): r}})[0]
	if got.Health != api.HealthDegraded || got.Message != "0/2 ready; ProgressDeadlineExceeded: no progress for 10s: web-x: ErrImagePull" ||
		got.Rollout == nil || got.Rollout.Revision != 2 {
		t.Errorf("got %s %q, rollout %+v", got.Health, got.Message, got.Rollout)
	}
}
