package embedded

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func textLogger(w *testenv.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestSlogCoreForwardsWarningsAndErrorsWithoutStack(t *testing.T) {
	var out testenv.SyncBuffer
	quiet := new(atomic.Bool)
	lg := zap.New(&slogCore{log: textLogger(&out).With("component", "etcd"), min: zap.WarnLevel, quiet: quiet},
		zap.AddStacktrace(zap.ErrorLevel)).Named("raft").With(zap.String("member", "m1"))

	lg.Info("not forwarded: below warn")
	lg.Warn("slow apply", zap.Duration("took", 0), zap.Error(errors.New("too long")))
	lg.Error("lost leader", zap.Int("term", 3))
	lg.Warn("simple token is not cryptographically signed")
	quiet.Store(true)
	lg.Error("setting up serving from embedded etcd failed.")

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		`level=WARN msg="slow apply" component=etcd member=m1 logger=raft error="too long" took=0s`,
		`level=ERROR msg="lost leader" component=etcd member=m1 logger=raft term=3`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("line %d = %q, want suffix %q", i, lines[i], w)
		}
	}
}

// TestEmbeddedCloseIsQuiet: a server stopped after its client logs nothing at WARN or above.
func TestEmbeddedCloseIsQuiet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd; skipped under -short")
	}
	ctx := context.Background()
	var out testenv.SyncBuffer
	e, err := Start(ctx, Config{Dir: t.TempDir() + "/etcd"}, textLogger(&out))
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.Connect(e.Endpoints)
	if err != nil {
		t.Fatal(err)
	}
	w := c.Watch(ctx, "/test/", clientv3.WithPrefix())
	if _, err := c.Put(ctx, "/test/probe", "1"); err != nil {
		t.Fatal(err)
	}
	<-w
	c.Close()
	e.Close()
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			t.Errorf("etcd logged %q", l)
		}
	}
}
