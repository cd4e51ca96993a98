package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// This file serves a reader that keeps the desired objects decoded between passes: it lists the
// keys with their revisions, then reads and decodes only the values that moved.

// RawDesired is one desired key as stored: its value, undecoded, and the revision it was last
// modified at.
type RawDesired struct {
	Key         api.Key
	Value       []byte
	ModRevision int64
}

// DesiredRevisions lists every desired key with its ModRevision but no value, in key order, at
// one revision, which it returns. A reader that keeps values by key and ModRevision reads only
// those that moved, with ListDesiredRawBetween at that revision.
func (s *Store) DesiredRevisions(ctx context.Context) ([]RawDesired, int64, error) {
	resp, err := s.c.Get(ctx, prefix(Desired), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, 0, fmt.Errorf("list desired keys: %w", err)
	}
	out, err := rawDesired(resp)
	return out, resp.Header.Revision, err
}

// ListDesiredRawBetween reads the desired keys from first to last, both included, in the key
// order of DesiredRevisions, with their values as of revision rev. It fails when rev was
// compacted.
func (s *Store) ListDesiredRawBetween(ctx context.Context, first, last api.Key, rev int64) ([]RawDesired, error) {
	resp, err := s.c.Get(ctx, desiredKey(first), clientv3.WithRange(desiredKey(last)+"\x00"), clientv3.WithRev(rev))
	if err != nil {
		return nil, fmt.Errorf("list desired from %s to %s: %w", first, last, err)
	}
	return rawDesired(resp)
}

func rawDesired(resp *clientv3.GetResponse) ([]RawDesired, error) {
	out := make([]RawDesired, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		k, err := parseDesiredKey(string(kv.Key))
		if err != nil {
			return nil, err
		}
		out = append(out, RawDesired{Key: k, Value: kv.Value, ModRevision: kv.ModRevision})
	}
	return out, nil
}

// DecodeDesired decodes a value stored at k as ListDesired does: nil when it is not an object of
// key k (not JSON, of an unknown kind, or naming another key).
func DecodeDesired(k api.Key, value []byte) api.Object { return decodeDesired(k, value) }

// EncodeDesired returns the value CommitSync stores for obj.
func EncodeDesired(obj api.Object) ([]byte, error) { return json.Marshal(obj) }
