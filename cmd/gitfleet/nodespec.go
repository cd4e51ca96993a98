package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// requireNode fails unless name is a registered node, so that a typo does not leave a spec
// behind for a node that never comes.
func requireNode(ctx context.Context, s *store.Store, name string) error {
	nodes, _, err := s.ListNodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Value.Metadata.Name == name {
			return nil
		}
	}
	return fmt.Errorf("node %s: no such node (see gitfleet get nodes)", name)
}

// setUnschedulable cordons (true) or uncordons name.
func setUnschedulable(ctx context.Context, s *store.Store, name string, on bool) error {
	if err := requireNode(ctx, s, name); err != nil {
		return err
	}
	return s.UpdateNodeSpec(ctx, name, func(sp *api.NodeSpec) error {
		sp.Unschedulable = on
		return nil
	})
}

// taintNode applies specs, each a taint to add or, with a trailing '-', to remove, to name.
func taintNode(ctx context.Context, s *store.Store, name string, specs []string) error {
	changes := make([]taintChange, len(specs))
	for i, sp := range specs {
		var err error
		if changes[i], err = parseTaint(sp); err != nil {
			return err
		}
	}
	if err := requireNode(ctx, s, name); err != nil {
		return err
	}
	return s.UpdateNodeSpec(ctx, name, func(sp *api.NodeSpec) error {
		for _, c := range changes {
			sp.Taints = c.apply(sp.Taints)
		}
		return nil
	})
}

// taintChange adds a taint, or removes the taints of its key (and effect, when given).
type taintChange struct {
	taint  api.Taint
	remove bool
}

// parseTaint reads key=value:Effect or key:Effect (add), key=value:Effect-, key:Effect- or
// key- (remove), as kubectl taint does.
func parseTaint(s string) (taintChange, error) {
	var c taintChange
	s, c.remove = strings.CutSuffix(s, "-")
	kv, effect, hasEffect := strings.Cut(s, ":")
	c.taint.Key, c.taint.Value, _ = strings.Cut(kv, "=")
	c.taint.Effect = effect
	switch {
	case c.taint.Key == "":
		return c, fmt.Errorf("taint %q: want key=value:Effect, key:Effect, or either with a trailing '-' to remove it", s)
	case !hasEffect && !c.remove:
		return c, fmt.Errorf("taint %q: an effect is required: NoSchedule, PreferNoSchedule or NoExecute", s)
	case hasEffect && !slices.Contains([]string{api.TaintNoSchedule, api.TaintPreferNoSchedule, api.TaintNoExecute}, effect):
		return c, fmt.Errorf("taint %q: unsupported effect %q: use NoSchedule, PreferNoSchedule or NoExecute", s, effect)
	}
	return c, nil
}

// apply returns taints changed by c. An added taint replaces one of the same key and effect.
func (c taintChange) apply(taints []api.Taint) []api.Taint {
	out := slices.DeleteFunc(slices.Clone(taints), func(t api.Taint) bool {
		return t.Key == c.taint.Key && (c.taint.Effect == "" || t.Effect == c.taint.Effect)
	})
	if !c.remove {
		out = append(out, c.taint)
	}
	return out
}
