package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// DefaultTTL is how long a leader that stopped renewing its lease (crashed, or cut off from
// etcd) keeps its role: the longest failover, besides the etcd election (when the etcd
// leader's host is lost, etcd's new leader extends every lease by its election timeout, 1s).
// Kubernetes' components take 15s; gitfleet's promise is a pushed commit running within
// seconds of a host's loss. The session renews every third of it; fencing makes a leader that
// misses the renewals harmless, not wrong.
const DefaultTTL = 2 * time.Second

// Config names one candidate of one role.
type Config struct {
	// Role is the election: one leader per role.
	Role string
	// Identity names the candidate in logs and in its election key's value. It must be unique
	// among the candidates and stable across restarts of one: a key that holds it at start is
	// a crashed previous life of this candidate, whose lease is revoked rather than waited out.
	Identity string
	// TTL is the candidate's session lease (DefaultTTL).
	TTL time.Duration
}

// Lead is a role's loop while elected: it must return soon after ctx ends, which happens when
// leadership is lost. Its writes carry fence (store.Fenced), so any made after the loss fail.
type Lead func(ctx context.Context, fence store.Fence) error

// Run campaigns for cfg.Role until ctx ends, runs lead while elected, and campaigns again when
// leadership is lost. It returns nil when ctx ends, and lead's error when lead fails while
// still leading; a failed election is logged and retried after a backoff.
func Run(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger, lead Lead) error {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	log = log.With("role", cfg.Role)
	bo := backoff.New(100*time.Millisecond, cfg.TTL)
	for ctx.Err() == nil {
		led, err := term(ctx, st.Client(), cfg, log, lead)
		if ctx.Err() != nil {
			return nil
		}
		if le := (leadError{}); errors.As(err, &le) {
			return err
		}
		if err != nil {
			log.Warn("leader election failed; campaigning again", "err", err)
			if led {
				bo.Reset()
			}
			backoff.Sleep(ctx, bo.Next())
		}
	}
	return nil
}

// leadError is an error of the role's loop, as opposed to one of the election.
type leadError struct{ error }

func (e leadError) Unwrap() error { return e.error }

// term runs one session: campaign, lead until leadership is lost, resign. led reports whether
// it led.
func term(ctx context.Context, c *clientv3.Client, cfg Config, log *slog.Logger, lead Lead) (led bool, err error) {
	sess, err := newSession(ctx, c, cfg.TTL)
	if err != nil {
		return false, err
	}
	// Close revokes the lease: the next candidate leads at once instead of after the TTL.
	defer sess.Close()
	pfx := store.LeaderPrefix(cfg.Role)
	if err := reclaim(ctx, c, pfx, cfg.Identity, sess.Lease()); err != nil {
		return false, err
	}
	e := concurrency.NewElection(sess, pfx)
	if err := e.Campaign(ctx, cfg.Identity); err != nil {
		return false, fmt.Errorf("campaign for %s: %w", cfg.Role, err)
	}
	fence := store.Fence{Key: e.Key(), Rev: e.Rev()}
	log.Info("became leader", "identity", cfg.Identity)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan string, 1)
	go func() {
		lost <- watchTerm(lctx, c, sess, fence, e.Header().Revision)
		cancel()
	}()
	err = lead(lctx, fence)
	cancel()
	why := <-lost
	if ctx.Err() != nil {
		return true, nil // a stop, not a loss; Close resigns
	}
	if why == "" {
		if err != nil {
			return true, leadError{fmt.Errorf("lead %s: %w", cfg.Role, err)}
		}
		why = "its loop returned" // loops return only when told; resign and campaign again
	}
	log.Info("lost leadership", "identity", cfg.Identity, "reason", why)
	return true, nil
}

// newSession grants the candidate's lease under ctx, but keeps it alive independently of ctx:
// so that Close can still revoke it after ctx ends (a stop), which hands the role over at once.
func newSession(ctx context.Context, c *clientv3.Client, ttl time.Duration) (*concurrency.Session, error) {
	secs := max(int(ttl.Seconds()), 1)
	lease, err := c.Grant(ctx, int64(secs))
	if err != nil {
		return nil, fmt.Errorf("grant leader lease: %w", err)
	}
	sess, err := concurrency.NewSession(c, concurrency.WithTTL(secs), concurrency.WithLease(lease.ID),
		concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("start leader session: %w", err)
	}
	return sess, nil
}

// reclaim revokes the lease of any key below pfx that holds identity under another lease: a
// previous life of this candidate that crashed, whose lease would otherwise hold the role for
// up to its TTL.
func reclaim(ctx context.Context, c *clientv3.Client, pfx, identity string, own clientv3.LeaseID) error {
	resp, err := c.Get(ctx, pfx+"/", clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("read candidates of %s: %w", pfx, err)
	}
	for _, kv := range resp.Kvs {
		if string(kv.Value) != identity || clientv3.LeaseID(kv.Lease) == own {
			continue
		}
		if _, err := c.Revoke(ctx, clientv3.LeaseID(kv.Lease)); err != nil {
			return fmt.Errorf("revoke the stale lease of %s: %w", identity, err)
		}
	}
	return nil
}

// watchTerm returns when the term of fence ends, saying why: the session's lease is gone, or
// the election key was deleted or replaced (Campaign can also return after its own key
// expired while it waited). It returns "" when ctx ends first.
func watchTerm(ctx context.Context, c *clientv3.Client, sess *concurrency.Session, fence store.Fence, rev int64) string {
	wch := c.Watch(clientv3.WithRequireLeader(ctx), fence.Key, clientv3.WithRev(rev))
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-sess.Done():
			return "session lease expired"
		case resp, ok := <-wch:
			if ctx.Err() != nil {
				return ""
			}
			if !ok || resp.Err() != nil {
				// Without a watch nothing says the term still holds; give it up, safely.
				return "watch of the election key lost"
			}
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete || ev.Kv.CreateRevision != fence.Rev {
					return "election key deleted"
				}
			}
		}
	}
}
