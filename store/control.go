package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// PutPin holds source at pin.Commit until DeletePin (gitfleet rollback). The controller watches
// the key and applies the pinned commit instead of the branch head.
func (s *Store) PutPin(ctx context.Context, source string, pin api.Pin) error {
	return put(ctx, s, pinKey(source), pin)
}

// GetPin reads the pin of source; ErrNotFound when the source follows its branch.
func (s *Store) GetPin(ctx context.Context, source string) (api.Pin, error) {
	pin, _, err := get[api.Pin](ctx, s, pinKey(source))
	return pin, err
}

// DeletePin lets source follow its branch again (gitfleet sync --resume). Deleting a pin that
// does not exist is not an error.
func (s *Store) DeletePin(ctx context.Context, source string) error {
	if _, err := s.c.Delete(ctx, pinKey(source)); err != nil {
		return fmt.Errorf("delete pin of %s: %w", source, err)
	}
	return nil
}

// RequestSync asks the controller of source for a pass now, replacing any earlier request. The
// controller watches the key, acts on the latest request and records its ID in the sync status.
func (s *Store) RequestSync(ctx context.Context, source string, req api.SyncRequest) error {
	return put(ctx, s, syncRequestKey(source), req)
}

// PinAndRequestSync writes pin and req in one transaction (gitfleet rollback): the pass that
// answers req is the one that applies pin, so its status reports the rollback's changes.
func (s *Store) PinAndRequestSync(ctx context.Context, source string, pin api.Pin, req api.SyncRequest) error {
	pb, err := json.Marshal(pin)
	if err != nil {
		return fmt.Errorf("encode pin: %w", err)
	}
	rb, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode sync request: %w", err)
	}
	_, err = s.c.Txn(ctx).Then(clientv3.OpPut(pinKey(source), string(pb)),
		clientv3.OpPut(syncRequestKey(source), string(rb))).Commit()
	if err != nil {
		return fmt.Errorf("pin %s and request a sync: %w", source, err)
	}
	return nil
}

// UnpinAndRequestSync deletes the pin of source and writes req in one transaction (gitfleet
// sync --resume): the pass that answers req is the one that follows the branch again.
func (s *Store) UnpinAndRequestSync(ctx context.Context, source string, req api.SyncRequest) error {
	rb, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode sync request: %w", err)
	}
	_, err = s.c.Txn(ctx).Then(clientv3.OpDelete(pinKey(source)),
		clientv3.OpPut(syncRequestKey(source), string(rb))).Commit()
	if err != nil {
		return fmt.Errorf("unpin %s and request a sync: %w", source, err)
	}
	return nil
}

// GetSyncRequest reads the latest sync request of source; ErrNotFound when there was none.
func (s *Store) GetSyncRequest(ctx context.Context, source string) (api.SyncRequest, error) {
	req, _, err := get[api.SyncRequest](ctx, s, syncRequestKey(source))
	return req, err
}

// Control is what the users of a source ask of its controller: a pin and the latest request,
// each nil when absent.
type Control struct {
	Pin     *api.Pin
	Request *api.SyncRequest
}

// GetControl reads the pin and the latest sync request of source at one revision, so a request
// written after a pin is never seen without that pin.
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
	}
	for _, kv := range resp.Responses[1].GetResponseRange().GetKvs() {
		c.Request = new(api.SyncRequest)
		if err := unmarshal(kv.Key, kv.Value, c.Request); err != nil {
			return Control{}, err
		}
	}
	return c, nil
}

func unmarshal(key, value []byte, v any) error {
	if err := json.Unmarshal(value, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}
