package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DesiredObject is an object as the controller applied it from git.
type DesiredObject struct {
	Object      api.Object
	ModRevision int64
}

// ListDesired reads every desired object at one revision, which it returns.
func (s *Store) ListDesired(ctx context.Context) (map[api.Key]DesiredObject, int64, error) {
	resp, err := s.c.Get(ctx, prefix(Desired), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("list desired: %w", err)
	}
	out := make(map[api.Key]DesiredObject, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		k, err := parseDesiredKey(string(kv.Key))
		if err != nil {
			return nil, 0, err
		}
		obj, err := decodeObject(k.Kind, kv.Value)
		if err != nil {
			return nil, 0, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out[k] = DesiredObject{Object: obj, ModRevision: kv.ModRevision}
	}
	return out, resp.Header.Revision, nil
}

func decodeObject(kind string, b []byte) (api.Object, error) {
	obj, err := api.New(kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// Write is one change to a desired object, guarded by the revision it was diffed against.
type Write struct {
	Key api.Key
	// Object is the new value; nil deletes the key.
	Object api.Object
	// ModRevision is the key's revision when it was read; 0 means it must not exist.
	ModRevision int64
}

// CommitDesired applies writes and records sync in one transaction: all of it or none of it.
// It fails with ErrConflict when any key moved since it was read.
func (s *Store) CommitDesired(ctx context.Context, writes []Write, sync api.SyncStatus) error {
	cmps := make([]clientv3.Cmp, 0, len(writes))
	ops := make([]clientv3.Op, 0, len(writes)+1)
	for _, w := range writes {
		key := desiredKey(w.Key)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", w.ModRevision))
		if w.Object == nil {
			ops = append(ops, clientv3.OpDelete(key))
			continue
		}
		b, err := json.Marshal(w.Object)
		if err != nil {
			return fmt.Errorf("encode %s: %w", w.Key, err)
		}
		ops = append(ops, clientv3.OpPut(key, string(b)))
	}
	sb, err := json.Marshal(sync)
	if err != nil {
		return fmt.Errorf("encode sync status: %w", err)
	}
	ops = append(ops, clientv3.OpPut(syncKey(sync.Source), string(sb)))
	resp, err := s.c.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("commit %d desired writes: %w", len(writes), err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("commit %d desired writes: %w", len(writes), ErrConflict)
	}
	return nil
}

// GetSync reads the sync record of a source.
func (s *Store) GetSync(ctx context.Context, source string) (api.SyncStatus, error) {
	st, _, err := get[api.SyncStatus](ctx, s, syncKey(source))
	return st, err
}

// PutSync writes the sync record of a source.
func (s *Store) PutSync(ctx context.Context, st api.SyncStatus) error {
	return put(ctx, s, syncKey(st.Source), st)
}
