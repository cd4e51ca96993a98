package etcdtest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/gitfleet/gitfleet/store"
)

// ConnectCounted dials eps with a client of its own whose received bytes add to read, so that
// a benchmark can measure what one component reads from etcd.
func ConnectCounted(t testing.TB, eps []string, read *atomic.Int64) *store.Store {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		MaxCallRecvMsgSize: 256 << 20, DialOptions: []grpc.DialOption{grpc.WithStatsHandler(counter{read})}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return store.New(c)
}

// counter is a gRPC stats handler that adds the wire length of every message received.
type counter struct{ read *atomic.Int64 }

func (c counter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (c counter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (c counter) HandleConn(context.Context, stats.ConnStats)                       {}
func (c counter) HandleRPC(_ context.Context, s stats.RPCStats) {
	if in, ok := s.(*stats.InPayload); ok {
		c.read.Add(int64(in.WireLength))
	}
}
