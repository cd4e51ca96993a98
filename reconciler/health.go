package reconciler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// This file is the pure health assessment: desired objects and live Pods (with their observed
// status merged, as store.ListPodsWithStatus returns them) in, one ObjectStatus per desired
// object out. No I/O, no clock: how long an object may stay Degraded is the caller's call.

// healthRank orders health from best to worst, as Argo CD does (Degraded is the worst; an
// unknown value ranks with it).
func healthRank(h string) int {
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

// Health assesses every desired object, in key order. A Deployment is Healthy when exactly
// replicas Pods of its current template run ready and no Pod of an older template is left;
// Degraded when a current Pod failed, restarts without becoming ready or fits on no node;
// Missing when it has no Pod at all; Progressing otherwise. A Pod manifest is Healthy when its
// Pod runs ready (or succeeded). Other kinds are Healthy once applied. A desired entry that
// cannot be decoded is OutOfSync and Missing: the controller repairs it.
func Health(desired map[api.Key]store.DesiredObject, pods []api.Pod) []api.ObjectStatus {
	owned := podsByOwner(pods)
	out := make([]api.ObjectStatus, 0, len(desired))
	for _, k := range slices.SortedFunc(maps.Keys(desired), compareKeys) {
		st := api.ObjectStatus{Key: k, Sync: api.SyncSynced}
		switch o := desired[k].Object.(type) {
		case nil:
			st.Sync, st.Health, st.Message = api.SyncOutOfSync, api.HealthMissing,
				"the stored object cannot be decoded; the controller will rewrite it"
		case *api.Deployment:
			st.Health, st.Message = deploymentHealth(o, CurrentTemplateHash(o, desired), owned[k.String()])
		case *api.Pod:
			st.Health, st.Message = podManifestHealth(o, owned[k.String()])
		default:
			st.Health = api.HealthHealthy
		}
		out = append(out, st)
	}
	return out
}

// Aggregate is the worst health of objects: Healthy when there are none.
func Aggregate(objects []api.ObjectStatus) string {
	worst := api.HealthHealthy
	for _, o := range objects {
		if healthRank(o.Health) > healthRank(worst) {
			worst = o.Health
		}
	}
	return worst
}

// Worse reports whether health a is worse than b.
func Worse(a, b string) bool { return healthRank(a) > healthRank(b) }

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

// deploymentHealth assesses d from the Pods it owns; hash is its current Pod template hash,
// which includes the data of the ConfigMaps it uses.
func deploymentHealth(d *api.Deployment, hash string, pods []api.Pod) (string, string) {
	want := d.ReplicaCount()
	var cur, old []api.Pod
	for _, p := range pods {
		if p.Metadata.Labels[api.LabelTemplateHash] == hash {
			cur = append(cur, p)
		} else {
			old = append(old, p)
		}
	}
	ready := countReadyPods(cur)
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

// podManifestHealth assesses the Pod made for the Pod manifest desired.
func podManifestHealth(desired *api.Pod, pods []api.Pod) (string, string) {
	hash := podHash(desired)
	var cur *api.Pod
	for i, p := range pods {
		if p.Metadata.Name == desired.Metadata.Name && p.Metadata.Labels[api.LabelTemplateHash] == hash {
			cur = &pods[i]
		}
	}
	switch {
	case cur == nil && len(pods) == 0:
		return api.HealthMissing, "no pod yet"
	case cur == nil:
		return api.HealthProgressing, "replacing the pod with one of the new spec"
	case cur.Status.Phase == api.PodSucceeded || isReady(cur.Status):
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
		case st.Restarts > 0 && !isReady(st):
			return true, fmt.Sprintf("%s: restarted %d times, not ready: %s", p.Metadata.Name, st.Restarts, reasonOf(st))
		}
	}
	return false, ""
}

// waitingFor says what the first Pod of pods that is not ready waits for, as "; pod: why".
func waitingFor(pods []api.Pod) string {
	for _, p := range pods {
		if !isReady(p.Status) {
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

func countReadyPods(pods []api.Pod) int {
	n := 0
	for _, p := range pods {
		if isReady(p.Status) {
			n++
		}
	}
	return n
}

// PodCounts returns how many of the Pods that desired objects own run ready, and how many they
// want (replicas of each Deployment, one per Pod manifest), for a "2/2 pods running" summary.
func PodCounts(desired map[api.Key]store.DesiredObject, pods []api.Pod) (ready, want int) {
	owned := podsByOwner(pods)
	for k, d := range desired {
		switch o := d.Object.(type) {
		case *api.Deployment:
			want += o.ReplicaCount()
		case *api.Pod:
			want++
		default:
			continue
		}
		ready += countReadyPods(owned[k.String()])
	}
	return ready, want
}
