package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// PinChange says what a sync request does to the pin of its source, in the same transaction, so
// that the pass answering the request is the one that applies (or leaves) the pin.
type PinChange struct {
	// Set holds the source at Set.Commit until the pin is removed (gitfleet rollback).
	Set *api.Pin
	// Remove lets the source follow its branch again (gitfleet sync --resume).
	Remove bool
}

// RequestSync writes req as the latest sync request of source, replacing any earlier one, and
// changes the pin as pc says, in one transaction. It returns the revision of the write: the
// controller records the revision of the request it answers (api.SyncStatus.RequestRevision).
func (s *Store) RequestSync(ctx context.Context, source string, req api.SyncRequest, pc PinChange) (int64, error) {
	rb, err := json.Marshal(req)
	if err != nil {
		return 0, fmt.Errorf("encode sync request: %w", err)
	}
	ops := []clientv3.Op{clientv3.OpPut(syncRequestKey(source), string(rb))}
	switch {
	case pc.Set != nil:
		pb, err := json.Marshal(pc.Set)
		if err != nil {
			return 0, fmt.Errorf("encode pin: %w", err)
		}
		ops = append(ops, clientv3.OpPut(pinKey(source), string(pb)))
	case pc.Remove:
		ops = append(ops, clientv3.OpDelete(pinKey(source)))
	}
	resp, err := s.c.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return 0, fmt.Errorf("request a sync of %s: %w", source, err)
	}
	return resp.Header.Revision, nil
}

// Control is what the users of a source ask of its controller: a pin and the latest request,
// each nil when absent.
type Control struct {
	Pin     *api.Pin
	Request *api.SyncRequest
}

// GetControl reads the pin and the latest sync request of source at one revision, so a request
// written after a pin is never seen without that pin. The request's Revision is set.
func (s *Store) GetControl(ctx context.Context, source string) (Control, error) {
	resp, err := s.c.Txn(ctx).Then(clientv3.OpGet(pinKey(source)), clientv3.OpGet(syncRequestKey(source))).Commit()
	if err != nil {
		return Control{}, fmt.Errorf("read control of %s: %w", source, err)
	}
	var c Control
	for _, kv := range resp.Responses[0].GetResponseRange().GetKvs() {
		c.Pin = new(api.Pin)
		if err := unmarshal(kv.Key, kv.Value, c.Pin); err != nil {
			return Control{}, err
		}
		c.Pin.Revision = kv.ModRevision
	}
	for _, kv := range resp.Responses[1].GetResponseRange().GetKvs() {
		c.Request = new(api.SyncRequest)
		if err := unmarshal(kv.Key, kv.Value, c.Request); err != nil {
			return Control{}, err
		}
		c.Request.Revision = kv.ModRevision
	}
	return c, nil
}

// SetPin pins source as pin says if its pin key is still at revision rev (0: no pin), the
// controller's automatic rollback; ErrConflict when a user changed the pin since it was read.
func (s *Store) SetPin(ctx context.Context, source string, pin api.Pin, rev int64) error {
	return casPut(ctx, s, pinKey(source), pin, rev)
}

// RemovePin removes the pin of source if its key is still at revision rev: the controller
// resumes the branch after an automatic rollback; ErrConflict when a user changed the pin.
func (s *Store) RemovePin(ctx context.Context, source string, rev int64) error {
	return casDelete(ctx, s, pinKey(source), rev)
}

func unmarshal(key, value []byte, v any) error {
	if err := json.Unmarshal(value, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}
