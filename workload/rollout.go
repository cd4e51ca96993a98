package workload

import (
	"cmp"
	"slices"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// This file is the rollout engine: a pure function from a Deployment's bounds and its Pods to
// one step (Pods to create, Pods to remove), as Kubernetes' deployment controller and Nomad's
// reconciler decide it. No I/O; the clock is an argument.
//
// Pods are counted as etcd holds them: a removed Pod's key is gone at once while its node stops
// its containers within their grace, so a Pod being stopped no longer counts toward the
// replicas nor the surge, as terminating Pods do not in Kubernetes. That is what lets a step
// remove every old Pod it may at once, none waiting on another's grace.

// RolloutPod is what the engine knows of one Pod of a Deployment.
type RolloutPod struct {
	Item store.Item[api.Pod]
	// Hash is its pod-template-hash label.
	Hash  string
	Ready bool
	// ReadySince is a time since which it has been ready: the observation time of its ready
	// status, which is never before it became ready; the zero time is long ago.
	ReadySince time.Time
	// Terminal is a Pod that failed or succeeded: it is removed and replaced.
	Terminal bool
	// Status is its observed status, for saying why it is not available.
	Status api.PodStatus
}

// available reports whether p has been ready for at least minReady at now.
func (p RolloutPod) available(minReady time.Duration, now time.Time) bool {
	return p.Ready && !p.Terminal && !now.Before(p.ReadySince.Add(minReady))
}

// RolloutSpec is what the engine reads of a Deployment, its bounds resolved.
type RolloutSpec struct {
	Want int
	// Surge and Unavailable are maxSurge and maxUnavailable in Pods (api.RollingBounds).
	Surge, Unavailable int
	Recreate, Paused   bool
	MinReady           time.Duration
	// Hash is the current template's pod-template-hash.
	Hash string
	// Revisions are the revisions of the templates with a record, by hash: old Pods of the
	// oldest templates go first, and a paused Deployment scales its newest template.
	Revisions map[string]int64
}

// Step is one step of a rollout: create Create Pods of template CreateHash, remove Remove.
type Step struct {
	Create     int
	CreateHash string
	Remove     []store.Item[api.Pod]
	// Wake is when a ready Pod becomes available (minReadySeconds): the step may differ
	// then with nothing else changed. Zero when no Pod waits so.
	Wake time.Time
}

// PlanRollout decides the next step of a Deployment's rollout at now. Failed and succeeded
// Pods are removed (and so replaced). Then, by strategy:
//
//   - RollingUpdate: surplus Pods of the current template go (scaling down: not ready first,
//     then the newest); old Pods that are not ready go at once, as they serve nothing; then
//     as many other old Pods as leave Want-Unavailable Pods available (ready for MinReady),
//     all in this one step; last, Pods of the current template are created up to Want, with
//     never more than Want+Surge Pods in all.
//   - Recreate: every old Pod goes; Pods of the current template are made once none is left.
//   - Paused: no rollout step; the Pods in all are scaled to Want, surplus taken from the
//     oldest templates first, a deficit made of the newest template that has Pods (Kubernetes
//     scales each template in proportion; this is simpler and keeps the mix's direction).
func PlanRollout(spec RolloutSpec, pods []RolloutPod, now time.Time) Step {
	var st Step
	var cur, old []RolloutPod
	for _, p := range pods {
		switch {
		case p.Terminal:
			st.Remove = append(st.Remove, p.Item)
		case p.Hash == spec.Hash:
			cur = append(cur, p)
		default:
			old = append(old, p)
		}
		if p.Ready && !p.Terminal && spec.MinReady > 0 {
			if at := p.ReadySince.Add(spec.MinReady); at.After(now) && (st.Wake.IsZero() || at.Before(st.Wake)) {
				st.Wake = at
			}
		}
	}
	av := func(p RolloutPod) bool { return p.available(spec.MinReady, now) }
	byRemoval(cur, av, spec.Revisions)
	byRemoval(old, av, spec.Revisions)
	switch {
	case spec.Paused:
		st.scalePaused(spec, cur, old, av)
	case spec.Recreate:
		st.recreate(spec, cur, old)
	default:
		st.rolling(spec, cur, old, av)
	}
	return st
}

// rolling is a RollingUpdate step (see PlanRollout); cur and old are in removal order.
func (st *Step) rolling(spec RolloutSpec, cur, old []RolloutPod, av func(RolloutPod) bool) {
	cur = st.removeFirst(cur, len(cur)-spec.Want)
	old = slices.DeleteFunc(old, func(p RolloutPod) bool {
		if !p.Ready {
			st.Remove = append(st.Remove, p.Item)
		}
		return !p.Ready
	})
	minAvailable := max(spec.Want-spec.Unavailable, 0)
	avail := countIf(cur, av) + countIf(old, av)
	// In removal order the unavailable go first: each removal costs at most one available Pod.
	old = st.removeFirst(old, avail-minAvailable)
	total := len(cur) + len(old)
	st.create(spec.Hash, min(spec.Want+spec.Surge-total, spec.Want-len(cur)))
}

// recreate is a Recreate step: old Pods go, then the current template is scaled to Want.
func (st *Step) recreate(spec RolloutSpec, cur, old []RolloutPod) {
	cur = st.removeFirst(cur, len(cur)-spec.Want)
	if len(old) > 0 {
		st.removeFirst(old, len(old))
		return
	}
	st.create(spec.Hash, spec.Want-len(cur))
}

// scalePaused scales a paused Deployment's Pods to Want without moving its rollout on.
func (st *Step) scalePaused(spec RolloutSpec, cur, old []RolloutPod, av func(RolloutPod) bool) {
	all := append(slices.Clone(old), cur...)
	switch surplus := len(all) - spec.Want; {
	case surplus > 0:
		byRemoval(all, av, spec.Revisions) // oldest template first, then as rolling removes
		st.removeFirst(all, surplus)
	case surplus < 0 && len(all) > 0:
		newest := all[0].Hash
		for _, p := range all {
			if rev, best := spec.Revisions[p.Hash], spec.Revisions[newest]; rev > best || rev == best && p.Hash == spec.Hash {
				newest = p.Hash
			}
		}
		st.create(newest, -surplus)
	}
}

// removeFirst removes the first n of pods (none when n <= 0) and returns the rest.
func (st *Step) removeFirst(pods []RolloutPod, n int) []RolloutPod {
	n = min(max(n, 0), len(pods))
	for _, p := range pods[:n] {
		st.Remove = append(st.Remove, p.Item)
	}
	return pods[n:]
}

func (st *Step) create(hash string, n int) {
	if n > 0 {
		st.Create, st.CreateHash = n, hash
	}
}

// byRemoval sorts pods best to remove first: of an older template (lower revision), not
// available, not ready, most recently written, then by name for determinism.
func byRemoval(pods []RolloutPod, av func(RolloutPod) bool, revisions map[string]int64) {
	slices.SortStableFunc(pods, func(a, b RolloutPod) int {
		return cmp.Or(cmp.Compare(revisions[a.Hash], revisions[b.Hash]),
			cmp.Compare(b2i(av(a)), b2i(av(b))), cmp.Compare(b2i(a.Ready), b2i(b.Ready)),
			cmp.Compare(b.Item.ModRevision, a.Item.ModRevision), cmp.Compare(a.Item.Name, b.Item.Name))
	})
}

func countIf(pods []RolloutPod, f func(RolloutPod) bool) int {
	n := 0
	for _, p := range pods {
		if f(p) {
			n++
		}
	}
	return n
}
