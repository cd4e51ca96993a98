package store

import (
	"context"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// PutHealth records the health of the desired objects of h.Source (the workload controller).
func (s *Store) PutHealth(ctx context.Context, h api.HealthStatus) error {
	return put(ctx, s, healthKey(h.Source), h)
}

// GetHealth reads the recorded health of source; ErrNotFound before the first record.
func (s *Store) GetHealth(ctx context.Context, source string) (api.HealthStatus, error) {
	h, _, err := get[api.HealthStatus](ctx, s, healthKey(source))
	return h, err
}

// GetSyncAt reads the sync status of source as it was at revision rev, so that a reader of the
// desired objects at rev knows which commit they are; ErrNotFound when there was none.
func (s *Store) GetSyncAt(ctx context.Context, source string, rev int64) (api.SyncStatus, error) {
	st, _, err := get[api.SyncStatus](ctx, s, syncKey(source), clientv3.WithRev(rev))
	return st, err
}
