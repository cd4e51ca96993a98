package store

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/gitfleet/gitfleet/api"
)

// PodStatusPut is one status of PutPodStatuses: that of Pod Namespace/Name, bound at CreateRev
// (0: any binding of that name), as PutPodStatus takes it.
type PodStatusPut struct {
	Namespace, Name string
	CreateRev       int64
	Status          api.PodStatus
}

// maxStatusBatch bounds the statuses of one transaction: etcd checks each level of a
// transaction against its --max-txn-ops (128 by default), and statuses of a few KiB each keep
// a batch far below its --max-request-bytes.
const maxStatusBatch = 100

// PutPodStatuses writes many statuses of node's Pods in one transaction per maxStatusBatch,
// each in a transaction nested in it and guarded as PutPodStatus guards its one, so that a Pod
// gone since it was read fails its own write alone: a hundred Pods changing at once cost one
// round trip, not a hundred. It returns one error per put, in order: nil, ErrNotFound
// (wrapped) for a Pod no longer bound to node as read, or the batch's error.
func (s *Store) PutPodStatuses(ctx context.Context, node string, puts []PodStatusPut) []error {
	errs := make([]error, len(puts))
	for start := 0; start < len(puts); start += maxStatusBatch {
		end := min(start+maxStatusBatch, len(puts))
		s.putStatusBatch(ctx, node, puts[start:end], errs[start:end])
	}
	return errs
}

// putStatusBatch writes one batch of puts, setting errs (of the same length).
func (s *Store) putStatusBatch(ctx context.Context, node string, puts []PodStatusPut, errs []error) {
	ops := make([]clientv3.Op, 0, len(puts))
	for i, p := range puts {
		b, err := json.Marshal(p.Status)
		if err != nil {
			errs[i] = fmt.Errorf("encode status of %s/%s: %w", p.Namespace, p.Name, err)
			continue
		}
		ops = append(ops, clientv3.OpTxn([]clientv3.Cmp{bindingCmp(node, p.Namespace, p.Name, p.CreateRev)},
			[]clientv3.Op{clientv3.OpPut(podStatusKey(node, p.Namespace, p.Name), string(b))}, nil))
	}
	if len(ops) == 0 {
		return
	}
	resp, err := s.c.Txn(ctx).If(s.fenceCmps()...).Then(ops...).Commit()
	if err == nil && !resp.Succeeded {
		err = ErrNotLeader
	}
	j := 0
	for i, p := range puts {
		if errs[i] != nil {
			continue
		}
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("write status of %s/%s: %w", p.Namespace, p.Name, limitError(err, nil, ops))
		case !resp.Responses[j].GetResponseTxn().GetSucceeded():
			errs[i] = fmt.Errorf("write status of %s/%s: %w", p.Namespace, p.Name, ErrNotFound)
		}
		j++
	}
}

// bindingCmp holds while Pod namespace/name is bound to node, by the binding created at
// createRev when it is not 0.
func bindingCmp(node, namespace, name string, createRev int64) clientv3.Cmp {
	binding := nodePodKey(node, namespace, name)
	if createRev > 0 {
		return clientv3.Compare(clientv3.CreateRevision(binding), "=", createRev)
	}
	return clientv3.Compare(clientv3.CreateRevision(binding), ">", 0)
}

// fenceCmps is the compare of a fenced store's term, none on an unfenced one.
func (s *Store) fenceCmps() []clientv3.Cmp {
	if s.fence.Key == "" {
		return nil
	}
	return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(s.fence.Key), "=", s.fence.Rev)}
}
