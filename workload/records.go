package workload

import (
	"cmp"
	"slices"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// A Deployment's template records (api.ReplicaSet): one per template hash, numbered by
// revision, each with the replicas its rollout wants of it now, pruned to
// revisionHistoryLimit. Pods belong to a record by their pod-template-hash label.

// recordPut is a record to write, compared against the revision it was read at (0: new).
type recordPut struct {
	rs     *api.ReplicaSet
	modRev int64
}

// recordPlan is what a pass writes of the records.
type recordPlan struct {
	puts    []recordPut
	deletes []store.Item[api.ReplicaSet]
}

func (p *recordPlan) add(q recordPlan) {
	p.puts, p.deletes = append(p.puts, q.puts...), append(p.deletes, q.deletes...)
}

// revisionsOf returns the revision of each template hash of records and the revision of the
// current template hash: its record's when it is the newest, else the next one (a template
// that becomes current again is renumbered, as in Kubernetes).
func revisionsOf(records []store.Item[api.ReplicaSet], hash string) (map[string]int64, int64) {
	revs := map[string]int64{}
	var top int64
	for _, r := range records {
		revs[r.Value.TemplateHash] = r.Value.Revision
		top = max(top, r.Value.Revision)
	}
	if rev, ok := revs[hash]; !ok || rev < top || slices.ContainsFunc(records, func(r store.Item[api.ReplicaSet]) bool {
		return r.Value.Revision == top && r.Value.TemplateHash != hash
	}) {
		revs[hash] = top + 1
	}
	return revs, revs[hash]
}

// recordInput is what planRecords reads besides the Deployment.
type recordInput struct {
	hash, configHash string
	revision         int64 // of the current template
	records          []store.Item[api.ReplicaSet]
	pods             []RolloutPod
	step             Step
	now              time.Time
}

// planRecords keeps d's records: the current template's made or renumbered, each record's
// replicas set to the Pods of its template the step leaves, and the old records without Pods
// beyond the newest revisionHistoryLimit deleted (never the current one, nor one with Pods).
func planRecords(d *api.Deployment, in recordInput) recordPlan {
	before, after := map[string]int{}, map[string]int{}
	removed := map[string]bool{}
	for _, r := range in.step.Remove {
		removed[r.Name] = true
	}
	for _, p := range in.pods {
		before[p.Hash]++
		if !removed[p.Item.Name] {
			after[p.Hash]++
		}
	}
	after[in.step.CreateHash] += in.step.Create
	var out recordPlan
	var old []store.Item[api.ReplicaSet]
	found := false
	for _, r := range in.records {
		rs := r.Value
		if rs.TemplateHash == in.hash {
			found = true
			rs.Revision = in.revision
		} else if before[rs.TemplateHash] == 0 && after[rs.TemplateHash] == 0 {
			old = append(old, r)
			continue
		}
		if rs.Revision != r.Value.Revision || rs.Replicas != after[rs.TemplateHash] {
			rs.Replicas = after[rs.TemplateHash]
			out.puts = append(out.puts, recordPut{rs: &rs, modRev: r.ModRevision})
		}
	}
	if !found {
		out.puts = append(out.puts, recordPut{rs: newRecord(d, in, after[in.hash])})
	}
	slices.SortFunc(old, func(a, b store.Item[api.ReplicaSet]) int { return cmp.Compare(b.Value.Revision, a.Value.Revision) })
	kept := 0
	for _, r := range old {
		switch {
		case kept < d.HistoryLimit():
			kept++
			if r.Value.Replicas != 0 {
				rs := r.Value
				rs.Replicas = 0
				out.puts = append(out.puts, recordPut{rs: &rs, modRev: r.ModRevision})
			}
		default:
			out.deletes = append(out.deletes, r)
		}
	}
	return out
}

// newRecord is the record of d's current template.
func newRecord(d *api.Deployment, in recordInput, replicas int) *api.ReplicaSet {
	m := d.Metadata
	return &api.ReplicaSet{Namespace: m.Namespace, Deployment: m.Name, Name: m.Name + "-" + in.hash,
		TemplateHash: in.hash, Revision: in.revision, Commit: m.Annotations[api.AnnotationCommit],
		ConfigHash: in.configHash, Template: api.Clone(d).(*api.Deployment).Spec.Template, Replicas: replicas,
		Created: in.now.UTC().Format(time.RFC3339)}
}

// orphanRecords are the records of Deployments no longer desired whose Pods are all gone.
func orphanRecords(records []store.Item[api.ReplicaSet], desired map[api.Key]store.DesiredObject,
	owned map[api.Key][]store.Item[api.Pod]) []store.Item[api.ReplicaSet] {
	var out []store.Item[api.ReplicaSet]
	for _, r := range records {
		k := api.Key{Kind: api.KindDeployment, Namespace: r.Value.Namespace, Name: r.Value.Deployment}
		if _, ok := desired[k]; ok {
			continue
		}
		if !slices.ContainsFunc(owned[k], func(p store.Item[api.Pod]) bool {
			return p.Value.Metadata.Labels[api.LabelTemplateHash] == r.Value.TemplateHash
		}) {
			out = append(out, r)
		}
	}
	return out
}
