package workload

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
)

func testRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// livePod is a Pod of d's template (or of hash when not "") at revision rev.
func livePod(d *api.Deployment, name, hash string, rev int64) store.Item[api.Pod] {
	if hash == "" {
		hash = api.TemplateHash(&d.Spec.Template)
	}
	p := api.Pod{
		TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindPod},
		Metadata: api.ObjectMeta{Name: name, Namespace: "default",
			Labels:      map[string]string{api.LabelTemplateHash: hash},
			Annotations: map[string]string{api.AnnotationOwner: Owner(api.KeyOf(d))}},
	}
	return store.Item[api.Pod]{Name: "default/" + name, Value: p, ModRevision: rev}
}

// ready marks the named pods (short names) Running and Ready.
func ready(names ...string) map[api.PodKey]api.PodStatus {
	out := map[api.PodKey]api.PodStatus{}
	for _, n := range names {
		out[api.PodKey{Namespace: "default", Name: n}] = api.PodStatus{Phase: api.PodRunning, Ready: true}
	}
	return out
}

// t0 is the time of the steps the tests plan.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// stepOf is reconcileDeployment of d at t0 with no records.
func stepOf(d *api.Deployment, pods []store.Item[api.Pod], statuses map[api.PodKey]api.PodStatus, rnd *rand.Rand) ([]*api.Pod, []store.Item[api.Pod]) {
	p := reconcileDeployment(d, deploymentInput{pods: pods, statuses: statuses, deadline: time.Hour, now: t0}, rnd)
	return p.create, p.remove
}

// planOf is planPods at t0 with no records.
func planOf(desired map[api.Key]store.DesiredObject, pods []store.Item[api.Pod], statuses map[api.PodKey]api.PodStatus,
	rnd *rand.Rand) ([]*api.Pod, []store.Item[api.Pod]) {
	p := planPods(planInput{desired: desired, pods: pods, statuses: statuses, deadline: time.Hour, now: t0}, rnd)
	return p.create, p.remove
}

func countReady(pods []store.Item[api.Pod], statuses map[api.PodKey]api.PodStatus) int {
	n := 0
	for _, p := range pods {
		if statuses[api.PodKeyOf(&p.Value)].IsReady() {
			n++
		}
	}
	return n
}

func removedNames(items []store.Item[api.Pod]) string {
	var out []string
	for _, it := range items {
		out = append(out, it.Value.Metadata.Name)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func TestReconcileDeployment(t *testing.T) {
	web := fixture.Deployment("web", 3, "nginx:2")
	const oldHash = "0ldhash000"
	old := func(name string, rev int64) store.Item[api.Pod] { return livePod(web, name, oldHash, rev) }
	cur := func(name string, rev int64) store.Item[api.Pod] { return livePod(web, name, "", rev) }
	stranger := livePod(fixture.Deployment("other", 1, "x"), "s1", "", 1)
	tests := []struct {
		name       string
		d          *api.Deployment
		pods       []store.Item[api.Pod]
		statuses   map[api.PodKey]api.PodStatus
		wantCreate int
		wantRemove string
	}{
		{"scale up from zero", web, nil, nil, 3, ""},
		{"steady", web, []store.Item[api.Pod]{cur("a", 1), cur("b", 2), cur("c", 3)}, ready("a", "b", "c"), 0, ""},
		{"scale up keeps existing", web, []store.Item[api.Pod]{cur("a", 1)}, nil, 2, ""},
		{"scale down removes not ready first, then newest", web,
			[]store.Item[api.Pod]{cur("a", 1), cur("b", 2), cur("c", 3), cur("d", 4), cur("e", 5)},
			ready("a", "b", "c", "e"), 0, "d,e"},
		{"replicas zero removes all", fixture.Deployment("web", 0, "nginx:2"),
			[]store.Item[api.Pod]{livePod(fixture.Deployment("web", 0, "nginx:2"), "a", "", 1)}, nil, 0, "a"},
		{"failed pod replaced", web, []store.Item[api.Pod]{cur("a", 1), cur("b", 2), cur("c", 3)},
			map[api.PodKey]api.PodStatus{{Namespace: "default", Name: "c"}: {Phase: api.PodFailed}}, 1, "c"},
		{"pods of another owner ignored", web, []store.Item[api.Pod]{stranger}, nil, 3, ""},
		{"rollout step 1: surge one new pod", web,
			[]store.Item[api.Pod]{old("o1", 1), old("o2", 2), old("o3", 3)}, ready("o1", "o2", "o3"), 1, ""},
		{"rollout step 2: new pod not ready, wait", web,
			[]store.Item[api.Pod]{old("o1", 1), old("o2", 2), old("o3", 3), cur("n1", 4)}, ready("o1", "o2", "o3"), 0, ""},
		{"rollout step 3: new pod ready, replace one old", web,
			[]store.Item[api.Pod]{old("o1", 1), old("o2", 2), old("o3", 3), cur("n1", 4)},
			ready("o1", "o2", "o3", "n1"), 1, "o3"},
		{"rollout last step: all new ready, last old goes", web,
			[]store.Item[api.Pod]{old("o1", 1), cur("n1", 4), cur("n2", 5), cur("n3", 6)},
			ready("o1", "n1", "n2", "n3"), 0, "o1"},
		{"rollout: old pods that are not ready go at once, surge counts the rest", web,
			[]store.Item[api.Pod]{old("o1", 1), old("o2", 2), old("o3", 3)}, ready("o1"), 3, "o2,o3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create, remove := stepOf(tt.d, tt.pods, tt.statuses, testRand())
			if len(create) != tt.wantCreate || removedNames(remove) != tt.wantRemove {
				t.Fatalf("create %d, remove %q; want create %d, remove %q",
					len(create), removedNames(remove), tt.wantCreate, tt.wantRemove)
			}
			for _, p := range create {
				checkDeploymentPod(t, tt.d, p)
			}
		})
	}
}

func checkDeploymentPod(t *testing.T, d *api.Deployment, p *api.Pod) {
	t.Helper()
	hash := api.TemplateHash(&d.Spec.Template)
	name := regexp.MustCompile(fmt.Sprintf(`^%s-%s-[a-z0-9]{5}$`, d.Metadata.Name, hash))
	m := p.Metadata
	switch {
	case !name.MatchString(m.Name):
		t.Errorf("pod name %q does not match %s", m.Name, name)
	case m.Namespace != d.Metadata.Namespace:
		t.Errorf("pod namespace %q", m.Namespace)
	case m.Labels[api.LabelTemplateHash] != hash || m.Labels["app"] != d.Metadata.Name:
		t.Errorf("pod labels %v", m.Labels)
	case m.Annotations[api.AnnotationOwner] != "Deployment/default/"+d.Metadata.Name:
		t.Errorf("pod annotations %v", m.Annotations)
	case p.Kind != api.KindPod || p.Spec.Containers[0].Image != d.Spec.Template.Spec.Containers[0].Image:
		t.Errorf("pod %+v", p)
	}
	p.Spec.Containers[0].Image = "mutated"
	if d.Spec.Template.Spec.Containers[0].Image == "mutated" {
		t.Error("pod shares its containers with the template")
	}
}

// TestRolloutConverges drives a rollout to the end with a fake that makes new Pods ready at
// once, checking at each step that no more than replicas+1 Pods exist and at least replicas-1
// are ready (the default 25 % of 4: a surge of 1, 1 unavailable).
func TestRolloutConverges(t *testing.T) {
	v1, v2 := fixture.Deployment("web", 4, "nginx:1"), fixture.Deployment("web", 4, "nginx:2")
	rnd := testRand()
	var pods []store.Item[api.Pod]
	statuses := map[api.PodKey]api.PodStatus{}
	rev := int64(0)
	apply := func(create []*api.Pod, remove []store.Item[api.Pod]) {
		for _, r := range remove {
			pods = slices.DeleteFunc(pods, func(p store.Item[api.Pod]) bool { return p.Name == r.Name })
			delete(statuses, api.PodKeyOf(&r.Value))
		}
		for _, c := range create {
			rev++
			name := "default/" + c.Metadata.Name
			pods = append(pods, store.Item[api.Pod]{Name: name, Value: *c, ModRevision: rev})
		}
	}
	markReady := func() {
		for _, p := range pods {
			statuses[api.PodKeyOf(&p.Value)] = api.PodStatus{Phase: api.PodRunning, Ready: true}
		}
	}
	apply(stepOf(v1, pods, statuses, rnd))
	markReady()
	for step := 0; step < 20; step++ {
		create, remove := stepOf(v2, pods, statuses, rnd)
		if len(create) == 0 && len(remove) == 0 {
			break
		}
		apply(create, remove)
		if len(pods) > 5 || countReady(pods, statuses) < 3 {
			t.Fatalf("step %d: %d pods, %d ready; want at most 5, at least 3 ready",
				step, len(pods), countReady(pods, statuses))
		}
		markReady()
	}
	hash := api.TemplateHash(&v2.Spec.Template)
	if len(pods) != 4 {
		t.Fatalf("after rollout: %d pods, want 4", len(pods))
	}
	for _, p := range pods {
		if p.Value.Metadata.Labels[api.LabelTemplateHash] != hash {
			t.Fatalf("after rollout: pod %s has an old template", p.Name)
		}
	}
}

func TestReconcilePod(t *testing.T) {
	desired := fixture.Pod("debug", "busybox:1")
	desired.Metadata.Annotations = map[string]string{api.AnnotationCommit: "c1", api.AnnotationSource: "p.yaml:1"}
	create, remove := ReconcilePod(desired, "", nil)
	if create == nil || len(remove) != 0 {
		t.Fatalf("first reconcile: create %v, remove %d", create, len(remove))
	}
	m := create.Metadata
	if m.Name != "debug" || m.Annotations[api.AnnotationOwner] != "Pod/default/debug" ||
		m.Annotations[api.AnnotationCommit] != "c1" || m.Labels[api.LabelTemplateHash] == "" {
		t.Fatalf("created pod meta %+v", m)
	}
	live := []store.Item[api.Pod]{{Name: "default/debug", Value: *create, ModRevision: 3}}
	live[0].Value.Spec.NodeName = "n1" // bound by the scheduler: not a change of the manifest
	recommitted := fixture.Pod("debug", "busybox:1")
	recommitted.Metadata.Annotations = map[string]string{api.AnnotationCommit: "c2"}
	if create, remove := ReconcilePod(recommitted, "", live); create != nil || len(remove) != 0 {
		t.Fatalf("same spec at a new commit: create %v, remove %d", create, len(remove))
	}
	changed := fixture.Pod("debug", "busybox:2")
	create, remove = ReconcilePod(changed, "", live)
	if create == nil || removedNames(remove) != "debug" {
		t.Fatalf("changed spec: create %v, remove %q; want a replacement", create, removedNames(remove))
	}
}

func TestPlanPodsRemovesOrphansOnly(t *testing.T) {
	web := fixture.Deployment("web", 1, "nginx")
	gone := fixture.Deployment("gone", 1, "nginx")
	manifest := fixture.Pod("debug", "busybox")
	orphanPod, _ := ReconcilePod(fixture.Pod("old-debug", "busybox"), "", nil)
	ownPod, _ := ReconcilePod(manifest, "", nil)
	jobPod := livePod(web, "job-x", "", 9)
	jobPod.Value.Metadata.Annotations[api.AnnotationOwner] = "Job/default/batch"
	unowned := livePod(web, "hand-made", "", 10)
	delete(unowned.Value.Metadata.Annotations, api.AnnotationOwner)
	pods := []store.Item[api.Pod]{
		livePod(web, "web-1", "", 1), livePod(gone, "gone-1", "", 2), livePod(gone, "gone-2", "", 3),
		{Name: "default/old-debug", Value: *orphanPod, ModRevision: 4},
		{Name: "default/debug", Value: *ownPod, ModRevision: 5},
		jobPod, unowned,
	}
	desired := fixture.Desired(1, web, manifest)
	create, remove := planOf(desired, pods, ready("web-1"), testRand())
	if len(create) != 0 || removedNames(remove) != "gone-1,gone-2,old-debug" {
		t.Fatalf("create %d, remove %q; want only the orphans removed", len(create), removedNames(remove))
	}
}

func TestPlanPodsKeepsPodsOfUndecodableEntry(t *testing.T) {
	web := fixture.Deployment("web", 2, "nginx")
	pods := []store.Item[api.Pod]{livePod(web, "web-1", "", 1)}
	desired := map[api.Key]store.DesiredObject{api.KeyOf(web): {ModRevision: 3}}
	create, remove := planOf(desired, pods, ready("web-1"), testRand())
	if len(create) != 0 || len(remove) != 0 {
		t.Fatalf("create %d, remove %q; want the Pods of an undecodable entry left alone", len(create), removedNames(remove))
	}
}
