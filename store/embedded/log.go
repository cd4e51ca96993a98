package embedded

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync/atomic"

	"go.etcd.io/etcd/server/v3/auth"
	"go.uber.org/zap/zapcore"
)

// slogCore forwards etcd's zap log into gitfleet's slog logger, so that etcd's warnings and
// errors read like the rest of the log: one line each, no stack trace.
type slogCore struct {
	log *slog.Logger
	// min is the lowest level forwarded.
	min zapcore.Level
	// quiet, once set, drops everything.
	quiet *atomic.Bool
}

var _ zapcore.Core = (*slogCore)(nil)

func (c *slogCore) Enabled(l zapcore.Level) bool { return l >= c.min && !c.quiet.Load() }

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{log: c.log.With(attrs(fields)...), min: c.min, quiet: c.quiet}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) && !deliberate(e.Message) {
		return ce.AddCore(e, c)
	}
	return ce
}

// deliberate reports etcd warnings about choices StartEmbedded makes on purpose (one loopback
// port, no auth, room for a whole commit in one request), or about what gitfleet does on
// purpose: change a node's rights as its Pods come and go, which makes etcd refuse, and the
// client retry, a request that crossed the change. They would show all the time and teach
// users to skip etcd's lines.
func deliberate(msg string) bool {
	switch msg {
	case "Running http and grpc server on single port. This is not recommended for production.",
		"simple token is not cryptographically signed",
		"exceeded recommended request limit",
		"request auth revision is less than current node auth revision":
		return true
	}
	return false
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if c.quiet.Load() || retried(e, fields) {
		return nil
	}
	log := c.log
	if e.LoggerName != "" {
		log = log.With("logger", e.LoggerName)
	}
	log.Log(context.Background(), slogLevel(e.Level), e.Message, attrs(fields)...)
	return nil
}

// retried reports etcd's warning about a request it refused because the rights changed while
// it was on its way, which the client retries (see deliberate).
func retried(e zapcore.Entry, fields []zapcore.Field) bool {
	if e.Message != "failed to apply request" {
		return false
	}
	for _, f := range fields {
		if err, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType && errors.Is(err, auth.ErrAuthOldRevision) {
			return true
		}
	}
	return false
}

func (c *slogCore) Sync() error { return nil }

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l < zapcore.InfoLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// attrs turns zap fields into slog key-value pairs, sorted by key so lines read the same each
// time.
func attrs(fields []zapcore.Field) []any {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		out = append(out, k, enc.Fields[k])
	}
	return out
}
