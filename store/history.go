package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultHistoryLimit is how many history entries of a source CommitSync keeps by default.
const DefaultHistoryLimit = 100

// SyncRecord is what one sync pass commits: the desired writes, the sync status and, when the
// pass was a sync attempt, its history entry.
type SyncRecord struct {
	Writes []Write
	Status api.SyncStatus
	// History is nil when the pass records no attempt. CommitSync assigns its ID and Source.
	History *api.HistoryEntry
	// HistoryLimit is how many entries of the source to keep; 0 means DefaultHistoryLimit.
	HistoryLimit int
}

// CommitSync applies rec in one transaction: the writes, the status and the history entry, all
// of it or none of it. The entry gets the next ID of its source, and entries older than the
// last HistoryLimit are deleted in the same transaction. It returns the entry's ID (0 without
// one) and fails with ErrConflict when any written key moved since it was read, and with a
// *LimitError when etcd refuses the transaction for its size.
func (s *Store) CommitSync(ctx context.Context, rec SyncRecord) (int64, error) {
	cmps, ops, err := writeOps(rec.Writes)
	if err != nil {
		return 0, err
	}
	sb, err := json.Marshal(rec.Status)
	if err != nil {
		return 0, fmt.Errorf("encode sync status: %w", err)
	}
	ops = append(ops, clientv3.OpPut(syncKey(rec.Status.Source), string(sb)))
	var id int64
	if rec.History != nil {
		var hc []clientv3.Cmp
		var hops []clientv3.Op
		id, hc, hops, err = s.historyOps(ctx, rec)
		if err != nil {
			return 0, err
		}
		cmps, ops = append(cmps, hc...), append(ops, hops...)
	}
	if err := s.commit(ctx, fmt.Sprintf("commit %d desired writes", len(rec.Writes)), ErrConflict, cmps, ops...); err != nil {
		return 0, limitError(err, cmps, ops)
	}
	return id, nil
}

// historyOps returns the ID of rec's entry, the guard of the source's history counter and the
// operations that write the entry, advance the counter and delete the entries beyond the limit.
func (s *Store) historyOps(ctx context.Context, rec SyncRecord) (int64, []clientv3.Cmp, []clientv3.Op, error) {
	source := rec.Status.Source
	last, rev, err := s.historySeq(ctx, source)
	if err != nil {
		return 0, nil, nil, err
	}
	entry := *rec.History
	entry.ID, entry.Source = last+1, source
	b, err := json.Marshal(entry)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("encode history entry: %w", err)
	}
	seq := historySeqKey(source)
	cmps := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(seq), "=", rev)}
	ops := []clientv3.Op{
		clientv3.OpPut(seq, strconv.FormatInt(entry.ID, 10)),
		clientv3.OpPut(historyKey(source, entry.ID), string(b)),
	}
	limit := int64(rec.HistoryLimit)
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	if oldest := entry.ID - limit + 1; oldest > 1 {
		// Every key from ID 0 up to (not including) the oldest entry kept.
		ops = append(ops, clientv3.OpDelete(historyKey(source, 0), clientv3.WithRange(historyKey(source, oldest))))
	}
	return entry.ID, cmps, ops, nil
}

// historySeq reads the last history ID of source and the counter's revision (0, 0 before the
// first entry).
func (s *Store) historySeq(ctx context.Context, source string) (int64, int64, error) {
	resp, err := s.c.Get(ctx, historySeqKey(source))
	if err != nil {
		return 0, 0, fmt.Errorf("read history counter of %s: %w", source, err)
	}
	if len(resp.Kvs) == 0 {
		return 0, 0, nil
	}
	kv := resp.Kvs[0]
	n, err := strconv.ParseInt(string(kv.Value), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("decode history counter of %s: %w", source, err)
	}
	return n, kv.ModRevision, nil
}

// ListHistory reads the history entries of source, oldest first (sorted by ID).
func (s *Store) ListHistory(ctx context.Context, source string) ([]api.HistoryEntry, error) {
	resp, err := s.c.Get(ctx, prefix(History)+source+"/", clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("list history of %s: %w", source, err)
	}
	out := make([]api.HistoryEntry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var e api.HistoryEntry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// MarkHealthy sets Healthy on history entry id of source, unless the entry changed since it was
// read (ErrConflict) or is gone (ErrNotFound).
func (s *Store) MarkHealthy(ctx context.Context, source string, id int64) error {
	key := historyKey(source, id)
	e, rev, err := get[api.HistoryEntry](ctx, s, key)
	if err != nil || e.Healthy {
		return err
	}
	e.Healthy = true
	return casPut(ctx, s, key, e, rev)
}
