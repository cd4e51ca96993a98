package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/gitfleet/gitfleet/api"
)

// nodeSpecRetries bounds UpdateNodeSpec's compare-and-swap attempts: the spec's writers (the
// Pod range assigner, an operator's cordon or taint) are few and rare.
const nodeSpecRetries = 5

// UpdateNodeSpec applies change to node's spec (empty when none yet) and writes it back with a
// compare-and-swap, reading it again when another writer moved it meanwhile, so that a cordon
// never undoes a Pod range assigned at the same time, nor the reverse. An error from change is
// returned as it is, and nothing is written.
func (s *Store) UpdateNodeSpec(ctx context.Context, node string, change func(*api.NodeSpec) error) error {
	var err error
	for range nodeSpecRetries {
		spec, rev, gerr := s.GetNodeSpec(ctx, node)
		if gerr != nil {
			return fmt.Errorf("update spec of node %s: %w", node, gerr)
		}
		if cerr := change(&spec); cerr != nil {
			return cerr
		}
		if err = casPut(ctx, s, nodeSpecKey(node), spec, rev); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("update spec of node %s: gave up after %d attempts: %w", node, nodeSpecRetries, err)
}
