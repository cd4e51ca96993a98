package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// drainPoll is how often drain looks for a deleted Pod's replacement.
const drainPoll = 200 * time.Millisecond

// drainNode cordons name, then deletes its Pods one at a time: after each Pod of a workload it
// waits until the workload has one more Pod Running on another node than before, so that a
// workload never loses more than one replica to the drain. Pods no workload owns would not
// come back: drain refuses them, before it changes anything, unless force.
func drainNode(ctx context.Context, s *store.Store, name string, force bool) (string, error) {
	if err := requireNode(ctx, s, name); err != nil {
		return "", err
	}
	pods, err := podsOn(ctx, s, name)
	if err != nil {
		return "", err
	}
	if orphans := unowned(pods); len(orphans) > 0 && !force {
		return "", fmt.Errorf("drain node %s: pods owned by no workload would not be replaced: %s (pass --force to delete them)",
			name, strings.Join(orphans, ", "))
	}
	if err := setUnschedulable(ctx, s, name, true); err != nil {
		return "", err
	}
	for _, p := range pods {
		if err := evictAndWait(ctx, s, name, p); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("node %s drained: %d pod(s) deleted", name, len(pods)), nil
}

// podsOn returns the Pods bound to node, with their observed status, by name.
func podsOn(ctx context.Context, s *store.Store, node string) ([]api.Pod, error) {
	all, err := s.ListPodsWithStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	var out []api.Pod
	for _, p := range all {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return podKeyString(&out[i]) < podKeyString(&out[j]) })
	return out, nil
}

func podKeyString(p *api.Pod) string { return p.Metadata.Namespace + "/" + p.Metadata.Name }

// unowned names the pods without an owner.
func unowned(pods []api.Pod) []string {
	var out []string
	for i := range pods {
		if pods[i].Metadata.Annotations[api.AnnotationOwner] == "" {
			out = append(out, podKeyString(&pods[i]))
		}
	}
	return out
}

// evictAndWait deletes p, bound to node, and, when a workload owns it, waits for its
// replacement to run elsewhere.
func evictAndWait(ctx context.Context, s *store.Store, node string, p api.Pod) error {
	owner := p.Metadata.Annotations[api.AnnotationOwner]
	before, err := ownerRunningElsewhere(ctx, s, node, owner)
	if err != nil {
		return err
	}
	if err := s.DeletePod(ctx, p.Metadata.Namespace, p.Metadata.Name, 0); err != nil {
		return fmt.Errorf("drain node %s: %w", node, err)
	}
	if owner == "" {
		return nil
	}
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		n, err := ownerRunningElsewhere(ctx, s, node, owner)
		if err != nil {
			return err
		}
		if n > before {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain node %s: wait for a replacement of %s (%s) to run elsewhere: %w",
				node, podKeyString(&p), owner, ctx.Err())
		case <-t.C:
		}
	}
}

// ownerRunningElsewhere counts the Running Pods of owner on nodes other than node.
func ownerRunningElsewhere(ctx context.Context, s *store.Store, node, owner string) (int, error) {
	if owner == "" {
		return 0, nil
	}
	all, err := s.ListPodsWithStatus(ctx)
	if err != nil {
		return 0, fmt.Errorf("list pods: %w", err)
	}
	n := 0
	for _, p := range all {
		if p.Metadata.Annotations[api.AnnotationOwner] == owner && p.Spec.NodeName != "" && p.Spec.NodeName != node &&
			p.Status.Phase == api.PodRunning {
			n++
		}
	}
	return n, nil
}
