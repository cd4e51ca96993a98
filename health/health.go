package health

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Input is what an assessment reads: the desired objects, the live Pods with their observed
// status merged in (store.MergeStatuses), and the pod-template-hash of the current Pods of each
// object that makes Pods (workload.CurrentHashes), so that health and the workload controller
// never disagree about which Pods are current.
type Input struct {
	Desired map[api.Key]store.DesiredObject
	Pods    []api.Pod
	Hashes  map[api.Key]string
	// Rollouts are the Deployments' rollouts as the workload controller's engine saw them
	// (nil: none known); each is recorded with its object.
	Rollouts map[api.Key]api.RolloutStatus
}

// rank orders health from best to worst, as Argo CD does (Degraded is the worst; an unknown
// value ranks with it).
func rank(h string) int {
	switch h {
	case api.HealthHealthy:
		return 0
	case api.HealthProgressing:
		return 1
	case api.HealthMissing:
		return 2
	}
	return 3
}

// Worse reports whether health a is worse than b, in the order Assess aggregates by (Healthy,
// Progressing, Missing, Degraded): the dashboard rolls a namespace's objects up with it.
func Worse(a, b string) bool { return rank(a) > rank(b) }

// Assess judges every desired object, in key order, by its kind's health rule (api.KindInfo):
// a Deployment is Healthy when exactly replicas Pods of its current template run ready and no
// Pod of an older template is left; Degraded when a current Pod failed, restarts without
// becoming ready or fits on no node, or its rollout missed its progress deadline (the rollout,
// in Input.Rollouts, is recorded with it); Missing when it has no Pod at all; Progressing
// otherwise.
// A Pod manifest is Healthy when its Pod runs ready (or succeeded). A Service with a selector
// is Healthy when one of the Pods it selects runs ready with an IP (an endpoint that gets
// traffic), Progressing while none does but one is still starting (Pending), Degraded
// otherwise. Other kinds are Healthy once applied. A desired entry that cannot be decoded is
// OutOfSync and Missing: the sync controller repairs it. Each status counts the Pods of its object that run ready (Ready) and
// that it wants (Want). Assess is pure; how long an object may look Degraded is Tracker's call.
func Assess(in Input) []api.ObjectStatus {
	owned, byNamespace := podsByOwner(in.Pods), podsByNamespace(in.Pods)
	out := make([]api.ObjectStatus, 0, len(in.Desired))
	for _, k := range slices.SortedFunc(maps.Keys(in.Desired), api.CompareKeys) {
		st := api.ObjectStatus{Key: k, Sync: api.SyncSynced, Health: api.HealthHealthy}
		obj := in.Desired[k].Object
		info, _ := api.KindOf(obj)
		pods := owned[k.String()]
		switch {
		case obj == nil:
			st.Sync, st.Health, st.Message = api.SyncOutOfSync, api.HealthMissing,
				"the stored object cannot be decoded; the controller will rewrite it"
		case info.Health == api.HealthByReplicas:
			want := obj.(replicated).ReplicaCount()
			st.Health, st.Message = replicasHealth(want, in.Hashes[k], pods)
			st.Ready, st.Want = countReady(pods), want
			if r, ok := in.Rollouts[k]; ok {
				st.Rollout = &r
				if r.State == api.RolloutDeadlineExceeded {
					st.Health, st.Message = api.HealthDegraded, fmt.Sprintf("%d/%d ready; %s: %s", st.Ready, want, ReasonProgressDeadline, r.Reason)
				}
			}
		case info.Health == api.HealthByPod:
			st.Health, st.Message = podHealth(k.Name, in.Hashes[k], pods)
			st.Ready, st.Want = countReady(pods), 1
		case info.Health == api.HealthByEndpoints:
			// Ready and Want stay 0: the Pods are their workloads' to count.
			st.Health, st.Message = endpointsHealth(obj.(*api.Service), byNamespace[k.Namespace])
		}
		out = append(out, st)
	}
	return out
}

// replicated is a kind whose health is judged by its replicas.
type replicated interface{ ReplicaCount() int }

// Aggregate is the worst health of objects: Healthy when there are none.
func Aggregate(objects []api.ObjectStatus) string {
	worst := api.HealthHealthy
	for _, o := range objects {
		if rank(o.Health) > rank(worst) {
			worst = o.Health
		}
	}
	return worst
}

// podsByOwner groups pods by their owner annotation, each group sorted by name.
func podsByOwner(pods []api.Pod) map[string][]api.Pod {
	out := map[string][]api.Pod{}
	for _, p := range pods {
		if o := p.Metadata.Annotations[api.AnnotationOwner]; o != "" {
			out[o] = append(out[o], p)
		}
	}
	for _, ps := range out {
		slices.SortFunc(ps, func(a, b api.Pod) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	}
	return out
}

// podsByNamespace groups pods by namespace.
func podsByNamespace(pods []api.Pod) map[string][]api.Pod {
	out := map[string][]api.Pod{}
	for _, p := range pods {
		out[p.Metadata.Namespace] = append(out[p.Metadata.Namespace], p)
	}
	return out
}

// endpointsHealth assesses svc from the Pods of its namespace, counting them as the endpoints
// controller does.
func endpointsHealth(svc *api.Service, pods []api.Pod) (string, string) {
	sel := svc.Spec.SelectorString()
	if sel == "" {
		return api.HealthHealthy, ""
	}
	var selected []api.Pod
	ready := 0
	for i := range pods {
		if p := &pods[i]; svc.Selects(p) {
			selected = append(selected, *p)
			if p.Status.IsReady() && p.Status.PodIP != "" {
				ready++
			}
		}
	}
	counts := fmt.Sprintf("%d of %d Pods selected by %s are ready", ready, len(selected), sel)
	switch {
	case len(selected) == 0:
		return api.HealthDegraded, "no Pod matches selector " + sel
	case ready == 0 && starting(selected):
		// A Pod still pulling its image is its workload's Progressing, not the Service's fault.
		return api.HealthProgressing, "waiting for a ready endpoint: " + counts
	case ready == 0:
		return api.HealthDegraded, "no ready endpoint: " + counts
	}
	return api.HealthHealthy, counts
}

// starting reports whether a Pod of pods is Pending with nothing wrong with it yet.
func starting(pods []api.Pod) bool {
	for _, p := range pods {
		if bad, _ := firstDegraded([]api.Pod{p}); !bad && p.Status.Phase == api.PodPending {
			return true
		}
	}
	return false
}

// replicasHealth assesses a workload that wants want Pods of the template hash from the Pods
// it owns.
func replicasHealth(want int, hash string, pods []api.Pod) (string, string) {
	var cur, old []api.Pod
	for _, p := range pods {
		if p.Metadata.Labels[api.LabelTemplateHash] == hash {
			cur = append(cur, p)
		} else {
			old = append(old, p)
		}
	}
	ready := countReady(cur)
	counts := fmt.Sprintf("%d/%d ready", ready, want)
	if bad, why := firstDegraded(cur); bad {
		return api.HealthDegraded, counts + "; " + why
	}
	switch {
	case len(pods) == 0 && want > 0:
		return api.HealthMissing, counts + "; no pods yet"
	case len(cur) == want && ready == want && len(old) == 0:
		return api.HealthHealthy, counts
	case len(old) > 0:
		return api.HealthProgressing, fmt.Sprintf("%s; rolling out: %d of %d new pods, %d old left",
			counts, len(cur), want, len(old))
	case len(cur) > want:
		return api.HealthProgressing, fmt.Sprintf("%s; scaling down: %d pods", counts, len(cur))
	}
	return api.HealthProgressing, counts + waitingFor(cur)
}

// podHealth assesses the Pod named name made for a Pod manifest whose current hash is hash.
func podHealth(name, hash string, pods []api.Pod) (string, string) {
	var cur *api.Pod
	for i, p := range pods {
		if p.Metadata.Name == name && p.Metadata.Labels[api.LabelTemplateHash] == hash {
			cur = &pods[i]
		}
	}
	switch {
	case cur == nil && len(pods) == 0:
		return api.HealthMissing, "no pod yet"
	case cur == nil:
		return api.HealthProgressing, "replacing the pod with one of the new spec"
	case cur.Status.Phase == api.PodSucceeded || cur.Status.IsReady():
		return api.HealthHealthy, cur.Status.Phase
	}
	if bad, why := firstDegraded([]api.Pod{*cur}); bad {
		return api.HealthDegraded, why
	}
	return api.HealthProgressing, strings.TrimPrefix(waitingFor([]api.Pod{*cur}), "; ")
}

// firstDegraded returns why the first degraded Pod of pods is: failed, restarting without
// becoming ready (a crash loop), or unschedulable.
func firstDegraded(pods []api.Pod) (bool, string) {
	for _, p := range pods {
		st := p.Status
		switch {
		case st.Phase == api.PodFailed:
			return true, fmt.Sprintf("%s: failed: %s", p.Metadata.Name, reasonOf(st))
		case st.Reason == api.ReasonUnschedulable:
			return true, fmt.Sprintf("%s: %s", p.Metadata.Name, reasonOf(st))
		case st.Restarts > 0 && !st.IsReady():
			return true, fmt.Sprintf("%s: restarted %d times, not ready: %s", p.Metadata.Name, st.Restarts, reasonOf(st))
		}
	}
	return false, ""
}

// waitingFor says what the first Pod of pods that is not ready waits for, as "; pod: why".
func waitingFor(pods []api.Pod) string {
	for _, p := range pods {
		if !p.Status.IsReady() {
			return fmt.Sprintf("; %s: %s", p.Metadata.Name, reasonOf(p.Status))
		}
	}
	return ""
}

// reasonOf is the most specific text a Pod status has: its message, else reason, else phase.
func reasonOf(st api.PodStatus) string {
	switch {
	case st.Message != "":
		return st.Message
	case st.Reason != "":
		return st.Reason
	case st.Phase != "":
		return st.Phase
	}
	return "no status yet"
}

func countReady(pods []api.Pod) int {
	n := 0
	for _, p := range pods {
		if p.Status.IsReady() {
			n++
		}
	}
	return n
}
