package store

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// LeaderLives reports whether role's election (ElectionController, …) has a candidate: its
// keys live under their sessions' leases, so one exists while a leader or a standby lives.
func (s *Store) LeaderLives(ctx context.Context, role string) (bool, error) {
	resp, err := s.c.Get(ctx, LeaderPrefix(role)+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return false, fmt.Errorf("read the %s election: %w", role, err)
	}
	return resp.Count > 0, nil
}

// NodeLive reports whether node is registered and whether its heartbeat key lives.
func (s *Store) NodeLive(ctx context.Context, node string) (registered, live bool, err error) {
	resp, err := s.c.Txn(ctx).Then(clientv3.OpGet(nodeKey(node), clientv3.WithCountOnly()),
		clientv3.OpGet(nodeLeaseKey(node), clientv3.WithCountOnly())).Commit()
	if err != nil {
		return false, false, fmt.Errorf("read node %s: %w", node, err)
	}
	return resp.Responses[0].GetResponseRange().Count > 0, resp.Responses[1].GetResponseRange().Count > 0, nil
}
