package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// getReplicaSets lists the Deployments' template records, newest revision first within a
// Deployment, with the Pods of each template counted from the live Pods.
func getReplicaSets(ctx context.Context, s *store.Store, format string, w io.Writer) error {
	items, _, err := s.ListReplicaSets(ctx)
	if err != nil {
		return err
	}
	rss := make([]api.ReplicaSet, len(items))
	for i, it := range items {
		rss[i] = it.Value
	}
	sort.Slice(rss, func(i, j int) bool {
		a, b := rss[i], rss[j]
		if a.Namespace+"/"+a.Deployment != b.Namespace+"/"+b.Deployment {
			return a.Namespace+"/"+a.Deployment < b.Namespace+"/"+b.Deployment
		}
		return a.Revision > b.Revision
	})
	pods, err := s.ListPodsWithStatus(ctx)
	if err != nil {
		return err
	}
	type count struct{ current, ready int }
	counts := map[string]count{} // owner + hash
	for _, p := range pods {
		k := p.Metadata.Annotations[api.AnnotationOwner] + "/" + p.Metadata.Labels[api.LabelTemplateHash]
		c := counts[k]
		c.current++
		if p.Status.IsReady() {
			c.ready++
		}
		counts[k] = c
	}
	now := time.Now()
	header := "NAMESPACE\tNAME\tDESIRED\tCURRENT\tREADY\tAGE\tREVISION"
	if format == "wide" {
		header += "\tCOMMIT\tIMAGES"
	}
	return emit(w, format, rss, header, func(rs api.ReplicaSet) string {
		owner := api.Key{Kind: api.KindDeployment, Namespace: rs.Namespace, Name: rs.Deployment}.String()
		c := counts[owner+"/"+rs.TemplateHash]
		r := fmt.Sprintf("%s\t%s\t%d\t%d\t%d\t%s\t%d", rs.Namespace, rs.Name, rs.Replicas, c.current, c.ready,
			age(rs.Created, now), rs.Revision)
		if format == "wide" {
			var images []string
			for _, ctr := range rs.Template.Spec.Containers {
				images = append(images, ctr.Image)
			}
			r += fmt.Sprintf("\t%s\t%s", short(rs.Commit), dash(fmt.Sprint(images)))
		}
		return r
	})
}

// age renders the time since an RFC 3339 time as kubectl does (45s, 3m, 2h, 5d); "-" when unknown.
func age(rfc3339 string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
