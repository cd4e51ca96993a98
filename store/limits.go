package store

import (
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// LimitError means etcd refused a commit for its size: more operations in one transaction than
// its --max-txn-ops allows, or more bytes than its --max-request-bytes. Retrying fails the same
// way until the operator raises the limit, so the error names the flag and the value to set.
type LimitError struct {
	// Reason is etcd's own words for the refusal.
	Reason string
	// Flag is the etcd flag to raise and Default its value when unset.
	Flag, Default string
	// Need is what the transaction holds, in Unit ("writes" or "bytes"): the least the flag
	// must allow. Bytes count keys and values only, so the request itself is a little larger.
	Need int
	Unit string
	err  error
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("etcd refused the commit: %s (%d %s; raise etcd's %s, %s by default, to at least %d)",
		e.Reason, e.Need, e.Unit, e.Flag, e.Default, e.Need)
}

func (e *LimitError) Unwrap() error { return e.err }

// limitError turns etcd's refusal of a transaction of cmps and ops for its size into a
// *LimitError; other errors are returned as they are. etcd checks the compares and the
// operations each against --max-txn-ops, so the larger count is what the flag must allow.
func limitError(err error, cmps []clientv3.Cmp, ops []clientv3.Op) error {
	switch {
	case errors.Is(err, rpctypes.ErrTooManyOps):
		return &LimitError{Reason: reason(rpctypes.ErrTooManyOps), Flag: "--max-txn-ops", Default: "128",
			Need: max(len(cmps), len(ops)), Unit: "writes", err: err}
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		n := 0
		for _, op := range ops {
			n += len(op.KeyBytes()) + len(op.ValueBytes())
		}
		return &LimitError{Reason: reason(rpctypes.ErrRequestTooLarge), Flag: "--max-request-bytes",
			Default: "1572864 (1.5 MiB)", Need: n, Unit: "bytes", err: err}
	}
	return err
}

// reason is etcd's message without its "etcdserver: " prefix, which the sentence around it
// already says.
func reason(err error) string { return strings.TrimPrefix(err.Error(), "etcdserver: ") }
