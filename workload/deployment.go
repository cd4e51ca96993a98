package workload

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// deploymentInput is what one Deployment's step reads besides the Deployment.
type deploymentInput struct {
	configHash string
	// pods are the Pods whose owner annotation names the Deployment.
	pods     []store.Item[api.Pod]
	statuses map[api.PodKey]api.PodStatus
	// records are the Deployment's template records.
	records []store.Item[api.ReplicaSet]
	// mark is how far its rollout had got at the last pass.
	mark progressMark
	// deadline is the progress deadline when the Deployment sets none.
	deadline time.Duration
	now      time.Time
}

// deploymentPlan is one Deployment's step: Pods and records to write, and its rollout status.
type deploymentPlan struct {
	create  []*api.Pod
	remove  []store.Item[api.Pod]
	records recordPlan
	rollout api.RolloutStatus
	mark    progressMark
	// wake is when the step may differ with nothing else changed; zero for never.
	wake time.Time
}

// reconcileDeployment decides one step of d towards its replicas Pods of its current template,
// as PlanRollout decides it, unless the rollout missed its progress deadline: then it stops
// where it is until the template or the replicas change. It also keeps d's template records
// and reports the rollout.
func reconcileDeployment(d *api.Deployment, in deploymentInput, rnd *rand.Rand) deploymentPlan {
	owner := Owner(api.KeyOf(d))
	hash := DeploymentHash(d, in.configHash)
	pods := rolloutPods(owner, in.pods, in.statuses)
	revisions, revision := revisionsOf(in.records, hash)
	surge, unavailable := d.RollingBounds()
	spec := RolloutSpec{Want: d.ReplicaCount(), Surge: surge, Unavailable: unavailable, Hash: hash,
		Recreate: d.StrategyType() == api.StrategyRecreate, Paused: d.Spec.Paused,
		MinReady: time.Duration(d.Spec.MinReadySeconds) * time.Second, Revisions: revisions}
	counts := countRollout(spec, pods, in.now)
	deadline := in.deadline
	if s, ok := d.ProgressDeadlineSeconds(); ok {
		deadline = time.Duration(s) * time.Second
	}
	mark := in.mark.advance(hash, spec.Want, counts, in.now)
	if spec.Paused {
		mark.at = in.now // a paused rollout has no deadline; resuming starts it afresh
	}
	stalled := !mark.complete && !spec.Paused && in.now.Sub(mark.at) >= deadline
	var step Step
	if !stalled {
		step = PlanRollout(spec, pods, in.now)
	}
	out := deploymentPlan{remove: step.Remove, mark: mark, wake: step.Wake}
	out.create = makePods(d, step, hash, in.configHash, in.records, rnd)
	out.records = planRecords(d, recordInput{hash: hash, configHash: in.configHash, revision: revision,
		records: in.records, pods: pods, step: step, now: in.now})
	out.rollout = rolloutStatus(spec, counts, mark, revision, stalled, deadline, pods, in.now)
	if !mark.complete && !spec.Paused && !stalled {
		out.wake = earliest(out.wake, mark.at.Add(deadline))
	}
	return out
}

// makePods makes the Pods step creates: of d's template, or of an older template's record
// when a paused Deployment scales it (none when that record is gone).
func makePods(d *api.Deployment, step Step, hash, configHash string, records []store.Item[api.ReplicaSet], rnd *rand.Rand) []*api.Pod {
	owner := Owner(api.KeyOf(d))
	var out []*api.Pod
	for range step.Create {
		if step.CreateHash == hash {
			out = append(out, deploymentPod(d, d.Spec.Template, podOrigin{owner, hash, configHash}, rnd))
			continue
		}
		for _, r := range records {
			if rs := r.Value; rs.TemplateHash == step.CreateHash {
				out = append(out, deploymentPod(d, rs.Template, podOrigin{owner, rs.TemplateHash, rs.ConfigHash}, rnd))
				break
			}
		}
	}
	return out
}

// rolloutPods reads the Pods of owner (others are ignored) as the rollout engine sees them.
func rolloutPods(owner string, pods []store.Item[api.Pod], statuses map[api.PodKey]api.PodStatus) []RolloutPod {
	out := make([]RolloutPod, 0, len(pods))
	for _, p := range pods {
		if p.Value.Metadata.Annotations[api.AnnotationOwner] != owner {
			continue
		}
		st, ok := statuses[api.PodKeyOf(&p.Value)]
		if !ok {
			st = p.Value.Status // the scheduler's reason it waits, if any
		}
		rp := RolloutPod{Item: p, Hash: p.Value.Metadata.Labels[api.LabelTemplateHash], Ready: st.IsReady(), Status: st,
			Terminal: st.Phase == api.PodFailed || st.Phase == api.PodSucceeded}
		if rp.Ready {
			rp.ReadySince, _ = time.Parse(time.RFC3339Nano, st.ObservedAt) // zero when absent
		}
		out = append(out, rp)
	}
	return out
}

// rolloutCounts counts a Deployment's Pods as RolloutStatus does.
type rolloutCounts struct {
	replicas, updated, ready, available, updatedAvailable, old int
}

// complete reports whether want Pods of the current template are available and no other is left.
func (c rolloutCounts) complete(want int) bool {
	return c.updated == want && c.updatedAvailable == want && c.old == 0
}

func countRollout(spec RolloutSpec, pods []RolloutPod, now time.Time) rolloutCounts {
	var c rolloutCounts
	for _, p := range pods {
		if p.Terminal {
			continue
		}
		av := p.available(spec.MinReady, now)
		c.replicas++
		c.ready += b2i(p.Ready)
		c.available += b2i(av)
		if p.Hash == spec.Hash {
			c.updated++
			c.updatedAvailable += b2i(av)
		} else {
			c.old++
		}
	}
	return c
}

// progressMark is how far a Deployment's rollout of one template and replica count has got:
// the most Pods of the template and the most of them available seen, the fewest old Pods,
// and when one of those last moved. The controller keeps it between passes; the progress
// deadline counts from at.
type progressMark struct {
	hash                    string
	want                    int
	updated, available, old int
	at                      time.Time
	complete                bool
}

// advance returns the mark after seeing c at now; a new template or replica count starts anew.
func (m progressMark) advance(hash string, want int, c rolloutCounts, now time.Time) progressMark {
	if m.at.IsZero() || m.hash != hash || m.want != want {
		return progressMark{hash: hash, want: want, updated: c.updated, available: c.updatedAvailable,
			old: c.old, at: now, complete: c.complete(want)}
	}
	if c.updated > m.updated || c.updatedAvailable > m.available || c.old < m.old {
		m.at = now
	}
	m.updated, m.available, m.old = max(m.updated, c.updated), max(m.available, c.updatedAvailable), min(m.old, c.old)
	m.complete = m.complete || c.complete(want)
	return m
}

// rolloutStatus reports a Deployment's rollout.
func rolloutStatus(spec RolloutSpec, c rolloutCounts, m progressMark, revision int64, stalled bool,
	deadline time.Duration, pods []RolloutPod, now time.Time) api.RolloutStatus {
	st := api.RolloutStatus{Revision: revision, TemplateHash: spec.Hash, State: api.RolloutProgressing,
		Want: spec.Want, Replicas: c.replicas, Updated: c.updated, Ready: c.ready, Available: c.available,
		UpdatedAvailable: c.updatedAvailable, LastProgress: m.at.UTC().Format(time.RFC3339),
		DeadlineSeconds: int(deadline / time.Second)}
	if !m.complete && !spec.Paused {
		st.Failing = failingPods(spec, pods, now)
	}
	switch {
	case spec.Paused:
		st.State = api.RolloutPaused
	case m.complete:
		st.State = api.RolloutComplete
	case stalled:
		st.State = api.RolloutDeadlineExceeded
		st.Reason = fmt.Sprintf("no progress for %s: %d of %d updated Pods available", deadline, c.updatedAvailable, spec.Want)
		for _, tr := range troubles(spec, pods, now) {
			st.Reason += "; " + tr
		}
	}
	return st
}

// maxFailing bounds RolloutStatus.Failing: a hundred Pods failing alike say no more than five.
const maxFailing = 5

// failingPods are up to maxFailing Pods of the current template that are not available, and why.
func failingPods(spec RolloutSpec, pods []RolloutPod, now time.Time) []api.FailingPod {
	var out []api.FailingPod
	for _, p := range pods {
		if len(out) == maxFailing {
			break
		}
		if p.Hash != spec.Hash || p.available(spec.MinReady, now) {
			continue
		}
		reason, msg := troubleOf(p, spec.MinReady)
		out = append(out, api.FailingPod{Pod: p.Item.Value.Metadata.Name, Reason: reason, Message: msg})
	}
	return out
}

// troubles groups the Pods of the current template that are not available by why, in the
// order first seen: "ErrImagePull (20 Pods, web-1a2b3-x7k2p, ...): container httpd: pull ...".
func troubles(spec RolloutSpec, pods []RolloutPod, now time.Time) []string {
	type group struct {
		first string
		n     int
	}
	var order []string
	groups := map[string]*group{}
	for _, p := range pods {
		if p.Hash != spec.Hash || p.available(spec.MinReady, now) {
			continue
		}
		reason, msg := troubleOf(p, spec.MinReady)
		key := reason + "\x00" + msg
		if g, ok := groups[key]; ok {
			g.n++
			continue
		}
		order = append(order, key)
		groups[key] = &group{first: p.Item.Value.Metadata.Name, n: 1}
	}
	out := make([]string, 0, len(order))
	for _, key := range order {
		g := groups[key]
		reason, msg, _ := strings.Cut(key, "\x00")
		who := g.first
		if g.n > 1 {
			who = fmt.Sprintf("%d Pods, %s, ...", g.n, g.first)
		}
		line := fmt.Sprintf("%s (%s)", reason, who)
		if msg != "" {
			line += ": " + msg
		}
		out = append(out, line)
	}
	return out
}

// troubleOf says why a Pod is not available, from its status: its reason (ErrImagePull,
// Unschedulable), else a container's (CrashLoopBackOff), else NotReady with its message (a
// readiness probe failing), or MinReadySeconds when it is ready but not for long enough.
func troubleOf(p RolloutPod, minReady time.Duration) (string, string) {
	st := p.Status
	if st.Reason != "" {
		return st.Reason, st.Message
	}
	for _, cs := range st.ContainerStatuses {
		if cs.Reason != "" && cs.Reason != api.ReasonCompleted {
			return cs.Reason, cs.Name + ": " + cs.Message
		}
	}
	if p.Ready {
		return "MinReadySeconds", fmt.Sprintf("ready, not yet for %s", minReady)
	}
	return "NotReady", cmp.Or(st.Message, st.Phase, "no status yet")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// earliest is the earlier of two times, the zero time meaning none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
