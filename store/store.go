package store

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// ErrConflict means a compare-and-swap lost: the key changed since it was read. Re-read and retry.
var ErrConflict = errors.New("conflict: the object changed since it was read")

// ErrNotFound means the key does not exist.
var ErrNotFound = errors.New("not found")

// ErrCompacted means etcd no longer keeps the revision asked for.
var ErrCompacted = errors.New("revision compacted")

// Store reads and writes gitfleet's state in etcd.
type Store struct {
	c *clientv3.Client
	// fence guards every write of a leader's store (see Fenced); zero otherwise.
	fence Fence
}

// New wraps a connected etcd client.
func New(c *clientv3.Client) *Store { return &Store{c: c} }

// Connect dials etcd at endpoints.
func Connect(endpoints []string) (*clientv3.Client, error) { return ConnectTLS(endpoints, nil) }

// ConnectTLS dials etcd at endpoints with tlsCfg (its CA and client certificate); nil dials
// without TLS. opts are added to the client's (an interceptor that times requests, say).
func ConnectTLS(endpoints []string, tlsCfg *tls.Config, opts ...grpc.DialOption) (*clientv3.Client, error) {
	return connect(clientv3.Config{Endpoints: endpoints, TLS: tlsCfg, DialOptions: opts})
}

// ConnectMembers is ConnectTLS for gitfleet's own etcd members (StartEmbedded): it also pings
// every connection every 2s, so that a member cut off the network is left for the others
// within 4s rather than hanging the requests sent its way. An external etcd would answer
// pings that often by closing the connection (its --grpc-keepalive-min-time is 5s).
func ConnectMembers(endpoints []string, tlsCfg *tls.Config, opts ...grpc.DialOption) (*clientv3.Client, error) {
	return connect(clientv3.Config{Endpoints: endpoints, TLS: tlsCfg, DialOptions: opts,
		DialKeepAliveTime: KeepAliveTime, DialKeepAliveTimeout: 2 * time.Second})
}

// KeepAliveTime is how often ConnectMembers' clients ping: an etcd server must allow pings
// that often (package embedded's does), or it closes the connections.
const KeepAliveTime = 2 * time.Second

func connect(cfg clientv3.Config) (*clientv3.Client, error) {
	cfg.DialTimeout = 5 * time.Second
	cfg.MaxCallSendMsgSize = 64 << 20
	cfg.MaxCallRecvMsgSize = 256 << 20
	// A host that joined when the cluster had one member learns of the members added since
	// (and forgets removed ones), so that losing the first member does not cut it off.
	cfg.AutoSyncInterval = 30 * time.Second
	// The client's own retry warnings would reach users raw (for example as remote: lines of a
	// push); gitfleet reports the errors it gets back instead.
	cfg.Logger = zap.NewNop()
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", cfg.Endpoints, err)
	}
	return c, nil
}

// Client exposes the etcd client for leases and health checks by the wiring code.
func (s *Store) Client() *clientv3.Client { return s.c }

// Revision returns the store's current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	resp, err := s.c.Get(ctx, root+"revision-probe", clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// Item is one decoded value with the revision it was last modified at.
type Item[T any] struct {
	Name        string // the key below its resource prefix, "namespace/name" or "name"
	Value       T
	ModRevision int64
	// CreateRevision tells apart two objects that had the same name one after the other.
	CreateRevision int64
}

// list reads every key of a resource at one revision. A value that does not decode (written by
// hand, or by another version) is left out rather than failing the list: one bad key must not
// stop every loop that lists the resource.
func list[T any](ctx context.Context, s *Store, r Resource) ([]Item[T], int64, error) {
	resp, err := s.c.Get(ctx, prefix(r), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", r, err)
	}
	items := make([]Item[T], 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var v T
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			continue
		}
		items = append(items, Item[T]{Name: relName(r, string(kv.Key)), Value: v,
			ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision})
	}
	return items, resp.Header.Revision, nil
}

// ListRaw reads every key of a resource at one revision, which it returns, with its value
// undecoded: what a Cache starts from.
func (s *Store) ListRaw(ctx context.Context, r Resource) ([]Item[[]byte], int64, error) {
	return s.listRaw(ctx, r, prefix(r))
}

// listRaw is ListRaw of the keys under p, a prefix within r; names are relative to r.
func (s *Store) listRaw(ctx context.Context, r Resource, p string) ([]Item[[]byte], int64, error) {
	resp, err := s.c.Get(ctx, p, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", r, err)
	}
	items := make([]Item[[]byte], 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		items = append(items, Item[[]byte]{Name: relName(r, string(kv.Key)), Value: kv.Value,
			ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision})
	}
	return items, resp.Header.Revision, nil
}

// get reads one key.
func get[T any](ctx context.Context, s *Store, key string, opts ...clientv3.OpOption) (T, int64, error) {
	var v T
	resp, err := s.c.Get(ctx, key, opts...)
	if err != nil {
		return v, 0, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return v, 0, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if err := json.Unmarshal(resp.Kvs[0].Value, &v); err != nil {
		return v, 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, resp.Kvs[0].ModRevision, nil
}

// casPut writes v at key if the key's ModRevision is still modRev (0: the key must not exist).
func casPut(ctx context.Context, s *Store, key string, v any, modRev int64) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return s.commit(ctx, "write "+key, ErrConflict,
		[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", modRev)}, clientv3.OpPut(key, string(b)))
}

func put(ctx context.Context, s *Store, key string, v any, opts ...clientv3.OpOption) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	// A transaction, so that a fenced store fences this write too.
	return s.commit(ctx, "write "+key, ErrConflict, nil, clientv3.OpPut(key, string(b), opts...))
}

// casDelete deletes key if its ModRevision is still modRev; ErrConflict otherwise.
func casDelete(ctx context.Context, s *Store, key string, modRev int64) error {
	return s.commit(ctx, "delete "+key, ErrConflict,
		[]clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", modRev)}, clientv3.OpDelete(key))
}
