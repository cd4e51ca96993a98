package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/gitfleet/gitfleet/api"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
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
// desired objects at rev knows which commit they are; ErrNotFound when there was none, and
// ErrCompacted when etcd no longer keeps rev.
func (s *Store) GetSyncAt(ctx context.Context, source string, rev int64) (api.SyncStatus, error) {
	st, _, err := get[api.SyncStatus](ctx, s, syncKey(source), clientv3.WithRev(rev))
	if errors.Is(err, rpctypes.ErrCompacted) {
		return st, fmt.Errorf("read sync status of %s at revision %d: %w", source, rev, ErrCompacted)
	}
	return st, err
}
