package store

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gitfleet/gitfleet/api"
)

// ReplicaSetName is the name of rs under ReplicaSets: "<namespace>/<deployment>/<templateHash>",
// so that one Deployment's records share a prefix.
func ReplicaSetName(rs *api.ReplicaSet) string {
	return rs.Namespace + "/" + rs.Deployment + "/" + rs.TemplateHash
}

func replicaSetKey(rs *api.ReplicaSet) string { return prefix(ReplicaSets) + ReplicaSetName(rs) }

// ListReplicaSets reads every template record at one revision, which it returns.
func (s *Store) ListReplicaSets(ctx context.Context) ([]Item[api.ReplicaSet], int64, error) {
	return list[api.ReplicaSet](ctx, s, ReplicaSets)
}

// PutReplicaSet writes a template record if its key's ModRevision is still modRev (0: it
// must not exist), and returns the revision it wrote at; ErrConflict otherwise.
func (s *Store) PutReplicaSet(ctx context.Context, rs *api.ReplicaSet, modRev int64) (int64, error) {
	key := replicaSetKey(rs)
	b, err := json.Marshal(rs)
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", key, err)
	}
	resp, err := s.txnResponse(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", modRev)},
		clientv3.OpPut(key, string(b)))
	switch {
	case err != nil:
		return 0, fmt.Errorf("write %s: %w", key, err)
	case !resp.Succeeded:
		return 0, fmt.Errorf("write %s: %w", key, ErrConflict)
	}
	return resp.Header.Revision, nil
}

// DeleteReplicaSet deletes a template record read at modRev; ErrConflict when it changed.
func (s *Store) DeleteReplicaSet(ctx context.Context, rs *api.ReplicaSet, modRev int64) error {
	return casDelete(ctx, s, replicaSetKey(rs), modRev)
}
