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
	// Object is nil when the stored value cannot be decoded; the controller overwrites or
	// deletes it.
	Object      api.Object
	ModRevision int64
}

// ListDesired reads every desired object at one revision, which it returns. A value that cannot
// be decoded (written behind the controller's back) does not fail the list: its entry has a nil
// Object, so that the controller can repair it.
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
		out[k] = DesiredObject{Object: decodeDesired(k, kv.Value), ModRevision: kv.ModRevision}
	}
	return out, resp.Header.Revision, nil
}

// GetDesired reads one desired object. It fails with ErrNotFound when there is none, and with
// ErrPermissionDenied when the client may not read it (a node reads only the ConfigMaps its
// Pods use, once granted: see SetNodeConfigMaps). A value that cannot be decoded gives a nil
// Object, as in ListDesired.
func (s *Store) GetDesired(ctx context.Context, k api.Key) (DesiredObject, error) {
	resp, err := s.c.Get(ctx, desiredKey(k))
	if err != nil {
		return DesiredObject{}, fmt.Errorf("get %s: %w", k, err)
	}
	if len(resp.Kvs) == 0 {
		return DesiredObject{}, fmt.Errorf("get %s: %w", k, ErrNotFound)
	}
	kv := resp.Kvs[0]
	return DesiredObject{Object: decodeDesired(k, kv.Value), ModRevision: kv.ModRevision}, nil
}

// DesiredEntry is a desired key and its object, as a Cache of Desired holds them (see
// DecodeDesiredEntry).
type DesiredEntry struct {
	Key api.Key
	// Object is nil when the stored value cannot be decoded, as in DesiredObject.
	Object api.Object
}

// DecodeDesiredEntry is the Decoder of a Cache of Desired: a value that cannot be decoded is
// kept with a nil Object, as ListDesired keeps it, so that its readers know the key exists. Only
// a key that is not kind/namespace/name is left out.
func DecodeDesiredEntry(name string, value []byte) (DesiredEntry, error) {
	k, err := parseDesiredKey(desiredKeyPrefix + name)
	if err != nil {
		return DesiredEntry{}, err
	}
	return DesiredEntry{Key: k, Object: decodeDesired(k, value)}, nil
}

// DesiredObjects turns the items of a Cache of Desired into what ListDesired returns.
func DesiredObjects(items []Item[DesiredEntry]) map[api.Key]DesiredObject {
	out := make(map[api.Key]DesiredObject, len(items))
	for _, it := range items {
		out[it.Value.Key] = DesiredObject{Object: it.Value.Object, ModRevision: it.ModRevision}
	}
	return out
}

// decodeDesired returns the object stored at k, or nil when the value is not one: not JSON, of
// an unknown kind, or naming another key (as "{}" or "null" would).
func decodeDesired(k api.Key, b []byte) api.Object {
	obj, err := api.New(k.Kind)
	if err != nil {
		return nil
	}
	if err := json.Unmarshal(b, obj); err != nil || api.KeyOf(obj) != k {
		return nil
	}
	return obj
}

// Write is one change to a desired object, guarded by the revision it was diffed against.
type Write struct {
	Key api.Key
	// Object is the new value; nil deletes the key.
	Object api.Object
	// ModRevision is the key's revision when it was read; 0 means it must not exist.
	ModRevision int64
}

// writeOps returns the guards and operations of writes.
func writeOps(writes []Write) ([]clientv3.Cmp, []clientv3.Op, error) {
	cmps := make([]clientv3.Cmp, 0, len(writes))
	ops := make([]clientv3.Op, 0, len(writes)+4)
	for _, w := range writes {
		key := desiredKey(w.Key)
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", w.ModRevision))
		if w.Object == nil {
			ops = append(ops, clientv3.OpDelete(key))
			continue
		}
		b, err := json.Marshal(w.Object)
		if err != nil {
			return nil, nil, fmt.Errorf("encode %s: %w", w.Key, err)
		}
		ops = append(ops, clientv3.OpPut(key, string(b)))
	}
	return cmps, ops, nil
}

// GetSync reads the sync record of a source.
func (s *Store) GetSync(ctx context.Context, source string) (api.SyncStatus, error) {
	st, _, err := get[api.SyncStatus](ctx, s, syncKey(source))
	return st, err
}
