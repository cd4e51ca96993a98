package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrNotLeader means a fenced write was refused: the leader it was made for lost its election
// since. The loop that made it must stop; it no longer owns what it writes.
var ErrNotLeader = errors.New("not the leader any more")

// Fence is one term of a leader: its election key and the revision that created it. The key
// is deleted when the leader resigns or its lease expires, and a new term creates a new one,
// so its CreateRevision names the term.
type Fence struct {
	Key string
	Rev int64
}

// LeaderPrefix is the election prefix of role: each candidate's key lives below it.
func LeaderPrefix(role string) string { return prefix(Leaders) + role }

// Fenced returns a store that shares s's client but whose every write also compares f, so that
// it fails with ErrNotLeader once f's term is over: two leaders can never both write. The zero
// Fence adds no compare.
func (s *Store) Fenced(f Fence) *Store {
	c := *s
	c.fence = f
	return &c
}

// txn applies ops when cmps hold, and reports whether they did. On a fenced store it also
// compares the fence, and fails with ErrNotLeader when that compare is the one that failed.
func (s *Store) txn(ctx context.Context, cmps []clientv3.Cmp, ops ...clientv3.Op) (bool, error) {
	resp, err := s.txnResponse(ctx, cmps, ops...)
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

// txnResponse is txn that also returns etcd's response, for a caller that reads the results of
// its operations (nested transactions, say); it fails with ErrNotLeader as txn does.
func (s *Store) txnResponse(ctx context.Context, cmps []clientv3.Cmp, ops ...clientv3.Op) (*clientv3.TxnResponse, error) {
	var orElse []clientv3.Op
	if s.fence.Key != "" {
		// A copy: cmps may be a caller's slice with room to spare.
		cmps = append(slices.Clip(cmps), clientv3.Compare(clientv3.CreateRevision(s.fence.Key), "=", s.fence.Rev))
		// The else branch reads the fence key at the transaction's revision, which tells a
		// lost term from a lost compare-and-swap without a second, racing read.
		orElse = []clientv3.Op{clientv3.OpGet(s.fence.Key, clientv3.WithKeysOnly())}
	}
	resp, err := s.c.Txn(ctx).If(cmps...).Then(ops...).Else(orElse...).Commit()
	if err != nil {
		return nil, err
	}
	if !resp.Succeeded && s.fence.Key != "" {
		kvs := resp.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 || kvs[0].CreateRevision != s.fence.Rev {
			return nil, ErrNotLeader
		}
	}
	return resp, nil
}

// commit applies ops when cmps hold; when they do not it fails with lost (or ErrNotLeader, see
// txn). Errors start with what.
func (s *Store) commit(ctx context.Context, what string, lost error, cmps []clientv3.Cmp, ops ...clientv3.Op) error {
	ok, err := s.txn(ctx, cmps, ops...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !ok {
		return fmt.Errorf("%s: %w", what, lost)
	}
	return nil
}

// checkFence fails with ErrNotLeader when the term of a fenced store is over; on an unfenced
// store it does nothing. It serves writes that take no compare, such as etcd's auth requests:
// a deposed leader is stopped at once but for a request already on its way.
func (s *Store) checkFence(ctx context.Context) error {
	if s.fence.Key == "" {
		return nil
	}
	_, err := s.txn(ctx, nil)
	return err
}
