package store

import (
	"context"
	"fmt"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Binding is one unbound Pod as read at ModRevision, and the node to bind it to.
type Binding struct {
	Pod         api.Pod
	ModRevision int64
	Node        string
}

// MaxBindBatch is the most bindings BindPods takes at once. An external etcd refuses a
// transaction of more than --max-txn-ops (128 by default) operations, counting a nested
// transaction's own operations against what the outer one leaves (each binding is one nested
// transaction of two writes); 100 stays under that with room, and under --max-request-bytes
// (1.5 MiB) for Pods of up to about 7 KiB.
const MaxBindBatch = 100

// BindPods binds each of binds as BindPod does, all in one transaction: one raft entry and one
// round trip for the lot, where BindPod costs one each. Each binding is a nested transaction
// with its own compare-and-swap, so a Pod that changed since it was read (or is already bound)
// fails alone, with ErrConflict, and the others are bound. It returns one error per binding, in
// order (nil: bound), or, when the transaction failed as a whole (etcd unreachable,
// ErrNotLeader, more than MaxBindBatch bindings, or a *LimitError), that error alone: then no
// Pod was bound.
func (s *Store) BindPods(ctx context.Context, binds []Binding) ([]error, error) {
	if len(binds) > MaxBindBatch {
		return nil, fmt.Errorf("bind %d pods: more than %d at once", len(binds), MaxBindBatch)
	}
	errs := make([]error, len(binds))
	var ops []clientv3.Op
	var sent []int // the index in binds of each of ops
	seen := make(map[api.PodKey]bool, len(binds))
	for i, b := range binds {
		// etcd refuses a whole transaction that writes one key twice.
		k := api.PodKeyOf(&b.Pod)
		if seen[k] {
			errs[i] = fmt.Errorf("bind %s/%s: twice in one batch: %w", k.Namespace, k.Name, ErrConflict)
			continue
		}
		seen[k] = true
		op, err := bindOp(b)
		if err != nil {
			errs[i] = err
			continue
		}
		ops, sent = append(ops, op), append(sent, i)
	}
	if len(ops) == 0 {
		return errs, nil
	}
	resp, err := s.txnResponse(ctx, nil, ops...)
	if err != nil {
		return nil, fmt.Errorf("bind %d pods: %w", len(ops), limitError(err, nil, ops))
	}
	if !resp.Succeeded { // only the fence compares in the outer transaction; txnResponse said so
		return nil, fmt.Errorf("bind %d pods: %w", len(ops), ErrNotLeader)
	}
	for j, r := range resp.Responses {
		if !r.GetResponseTxn().GetSucceeded() {
			m := binds[sent[j]].Pod.Metadata
			errs[sent[j]] = fmt.Errorf("bind %s/%s: %w", m.Namespace, m.Name, ErrConflict)
		}
	}
	return errs, nil
}

// bindOp is the nested transaction of one binding: BindPod's compare and writes.
func bindOp(b Binding) (clientv3.Op, error) {
	m := b.Pod.Metadata
	if b.Pod.Spec.NodeName != "" {
		return clientv3.Op{}, fmt.Errorf("bind %s/%s: already bound to %s: %w", m.Namespace, m.Name, b.Pod.Spec.NodeName, ErrConflict)
	}
	if b.Node == "" {
		return clientv3.Op{}, fmt.Errorf("bind %s/%s: no node given", m.Namespace, m.Name)
	}
	pod := b.Pod
	bindTo(&pod, b.Node)
	cmp, ops, err := podWrite(&pod, b.ModRevision)
	if err != nil {
		return clientv3.Op{}, err
	}
	return clientv3.OpTxn([]clientv3.Cmp{cmp}, ops, nil), nil
}
