package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ListPods reads every Pod at one revision, which it returns.
func (s *Store) ListPods(ctx context.Context) ([]Item[api.Pod], int64, error) {
	return list[api.Pod](ctx, s, Pods)
}

// GetPod reads one Pod and its revision.
func (s *Store) GetPod(ctx context.Context, namespace, name string) (api.Pod, int64, error) {
	return get[api.Pod](ctx, s, podKey(namespace, name))
}

// CreatePod writes a new Pod; it fails with ErrConflict when the name is taken.
func (s *Store) CreatePod(ctx context.Context, pod *api.Pod) error {
	return casPut(ctx, s, podKey(pod.Metadata.Namespace, pod.Metadata.Name), pod, 0)
}

// UpdatePod replaces a Pod read at modRev.
func (s *Store) UpdatePod(ctx context.Context, pod *api.Pod, modRev int64) error {
	return casPut(ctx, s, podKey(pod.Metadata.Namespace, pod.Metadata.Name), pod, modRev)
}

// BindPod sets the node of a Pod read at modRev. A Pod already bound is never bound again.
func (s *Store) BindPod(ctx context.Context, pod api.Pod, modRev int64, node string) error {
	if pod.Spec.NodeName != "" {
		return fmt.Errorf("bind %s/%s: already bound to %s: %w",
			pod.Metadata.Namespace, pod.Metadata.Name, pod.Spec.NodeName, ErrConflict)
	}
	pod.Spec.NodeName = node
	pod.Status.Reason, pod.Status.Message = "", ""
	return s.UpdatePod(ctx, &pod, modRev)
}

// DeletePod deletes a Pod and its observed status; modRev 0 deletes whatever is there.
func (s *Store) DeletePod(ctx context.Context, namespace, name string, modRev int64) error {
	key := podKey(namespace, name)
	txn := s.c.Txn(ctx)
	if modRev != 0 {
		txn = txn.If(clientv3.Compare(clientv3.ModRevision(key), "=", modRev))
	}
	txn = txn.Then(clientv3.OpDelete(key), clientv3.OpDelete(podStatusKey(namespace, name)))
	return commit(txn, "delete pod "+namespace+"/"+name, ErrConflict)
}

// PutPodStatus records what a node observed of a Pod, only while that Pod exists: createRev is
// the CreateRevision of the Pod as the observer read it (0: any Pod of that name). So a late
// report never resurrects the status of a deleted Pod, nor lands on a new Pod of the same name.
func (s *Store) PutPodStatus(ctx context.Context, namespace, name string, createRev int64, st api.PodStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode pod status: %w", err)
	}
	cmp := clientv3.Compare(clientv3.CreateRevision(podKey(namespace, name)), ">", 0)
	if createRev > 0 {
		cmp = clientv3.Compare(clientv3.CreateRevision(podKey(namespace, name)), "=", createRev)
	}
	txn := s.c.Txn(ctx).
		If(cmp).
		Then(clientv3.OpPut(podStatusKey(namespace, name), string(b)))
	return commit(txn, "write status of "+namespace+"/"+name, ErrNotFound)
}

// ListPodStatuses reads every observed Pod status.
func (s *Store) ListPodStatuses(ctx context.Context) (map[api.PodKey]api.PodStatus, int64, error) {
	items, rev, err := list[api.PodStatus](ctx, s, PodStatus)
	if err != nil {
		return nil, 0, err
	}
	out := make(map[api.PodKey]api.PodStatus, len(items))
	for _, it := range items {
		ns, name, _ := strings.Cut(it.Name, "/")
		out[api.PodKey{Namespace: ns, Name: name}] = it.Value
	}
	return out, rev, nil
}

// ListPodsWithStatus reads Pods with their observed status merged in, as `get pods` shows them.
// A status the agent reported replaces the scheduler's reason for a Pod that is not yet running.
func (s *Store) ListPodsWithStatus(ctx context.Context) ([]api.Pod, error) {
	pods, _, err := s.ListPods(ctx)
	if err != nil {
		return nil, err
	}
	sts, _, err := s.ListPodStatuses(ctx)
	if err != nil {
		return nil, err
	}
	return MergeStatuses(pods, sts), nil
}

// MergeStatuses returns the Pods with their observed status merged in: a status the agent
// reported replaces the scheduler's reason for a Pod that is not yet running, and a Pod with
// neither is Pending.
func MergeStatuses(pods []Item[api.Pod], sts map[api.PodKey]api.PodStatus) []api.Pod {
	out := make([]api.Pod, 0, len(pods))
	for _, it := range pods {
		p := it.Value
		if st, ok := sts[api.PodKeyOf(&p)]; ok {
			p.Status = st
		} else if p.Status.Phase == "" {
			p.Status.Phase = api.PodPending
		}
		out = append(out, p)
	}
	return out
}
