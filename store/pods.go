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

// CreatePod writes a new Pod; it fails with ErrConflict when the name is taken. A Pod created
// bound (spec.nodeName set) is indexed under its node at once.
func (s *Store) CreatePod(ctx context.Context, pod *api.Pod) error {
	return s.writePod(ctx, pod, 0)
}

// UpdatePod replaces a Pod read at modRev, and its node index entry when it is bound.
func (s *Store) UpdatePod(ctx context.Context, pod *api.Pod, modRev int64) error {
	return s.writePod(ctx, pod, modRev)
}

// writePod puts pod if its key's ModRevision is modRev (0: it must not exist), and, when it is
// bound, its copy under its node's index, in one transaction.
func (s *Store) writePod(ctx context.Context, pod *api.Pod, modRev int64) error {
	cmp, ops, err := podWrite(pod, modRev)
	if err != nil {
		return err
	}
	m := pod.Metadata
	return s.commit(ctx, "write pod "+m.Namespace+"/"+m.Name, ErrConflict, []clientv3.Cmp{cmp}, ops...)
}

// podWrite is the compare and the operations of writePod.
func podWrite(pod *api.Pod, modRev int64) (clientv3.Cmp, []clientv3.Op, error) {
	m := pod.Metadata
	b, err := json.Marshal(pod)
	if err != nil {
		return clientv3.Cmp{}, nil, fmt.Errorf("encode pod %s/%s: %w", m.Namespace, m.Name, err)
	}
	key := podKey(m.Namespace, m.Name)
	ops := []clientv3.Op{clientv3.OpPut(key, string(b))}
	if node := pod.Spec.NodeName; node != "" {
		ops = append(ops, clientv3.OpPut(nodePodKey(node, m.Namespace, m.Name), string(b)))
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", modRev), ops, nil
}

// BindPod sets the node of a Pod read at modRev and indexes it under that node, in one
// transaction. A Pod already bound is never bound again.
func (s *Store) BindPod(ctx context.Context, pod api.Pod, modRev int64, node string) error {
	if pod.Spec.NodeName != "" {
		return fmt.Errorf("bind %s/%s: already bound to %s: %w",
			pod.Metadata.Namespace, pod.Metadata.Name, pod.Spec.NodeName, ErrConflict)
	}
	bindTo(&pod, node)
	return s.writePod(ctx, &pod, modRev)
}

// bindTo sets the node of pod and clears the scheduler's reason it waited.
func bindTo(pod *api.Pod, node string) {
	pod.Spec.NodeName = node
	pod.Status.Reason, pod.Status.Message = "", ""
}

// DeletePod deletes a Pod, its node index entry and its observed status; modRev 0 deletes
// whatever is there. It fails with ErrConflict when the Pod changed since modRev.
func (s *Store) DeletePod(ctx context.Context, namespace, name string, modRev int64) error {
	key := podKey(namespace, name)
	what := "delete pod " + namespace + "/" + name
	resp, err := s.c.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if len(resp.Kvs) == 0 {
		if modRev == 0 {
			return nil
		}
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	var pod api.Pod // an undecodable value has no node to unindex
	_ = json.Unmarshal(resp.Kvs[0].Value, &pod)
	if modRev == 0 {
		modRev = resp.Kvs[0].ModRevision
	}
	ops := []clientv3.Op{clientv3.OpDelete(key)}
	if node := pod.Spec.NodeName; node != "" {
		// Only the node a Pod is bound to writes its status, under that node's name.
		ops = append(ops, clientv3.OpDelete(nodePodKey(node, namespace, name)), clientv3.OpDelete(podStatusKey(node, namespace, name)))
	}
	return s.commit(ctx, what, ErrConflict, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(key), "=", modRev)}, ops...)
}

// ListNodePods reads the Pods bound to node from its index, at one revision, which it returns.
// Each item's CreateRevision is that of its binding: PutPodStatus takes it.
func (s *Store) ListNodePods(ctx context.Context, node string) ([]Item[api.Pod], int64, error) {
	resp, err := s.c.Get(ctx, nodePodsPrefix(node), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("list pods of node %s: %w", node, err)
	}
	items := make([]Item[api.Pod], 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var p api.Pod
		if json.Unmarshal(kv.Value, &p) != nil {
			continue
		}
		items = append(items, Item[api.Pod]{Name: strings.TrimPrefix(string(kv.Key), nodePodsPrefix(node)), Value: p,
			ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision})
	}
	return items, resp.Header.Revision, nil
}

// WatchNodePods sends each change of the Pods bound to node after revision rev, as Watch does.
func (s *Store) WatchNodePods(ctx context.Context, node string, rev int64) <-chan Event {
	return s.watch(ctx, NodePods, nodePodsPrefix(node), rev)
}

// PutPodStatus records what node observed of a Pod, only while that Pod is bound to node:
// createRev is the CreateRevision of its binding as the node read it (ListNodePods; 0: any
// binding of that name). So a late report never resurrects the status of a deleted Pod, nor
// lands on a new Pod of the same name, nor comes from a node the Pod is not bound to.
func (s *Store) PutPodStatus(ctx context.Context, node, namespace, name string, createRev int64, st api.PodStatus) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode pod status: %w", err)
	}
	return s.commit(ctx, "write status of "+namespace+"/"+name, ErrNotFound,
		[]clientv3.Cmp{bindingCmp(node, namespace, name, createRev)}, clientv3.OpPut(podStatusKey(node, namespace, name), string(b)))
}

// ListPodStatuses reads every observed Pod status, keyed by Pod (see PodStatuses), at one
// revision, which it returns.
func (s *Store) ListPodStatuses(ctx context.Context) (map[api.PodKey]api.PodStatus, int64, error) {
	items, rev, err := s.ListPodStatusItems(ctx)
	if err != nil {
		return nil, 0, err
	}
	return PodStatuses(items), rev, nil
}

// ListPodStatusItems reads every observed Pod status as stored, at one revision, which it
// returns: each item's Name is node/namespace/name, the node being the one that wrote it.
func (s *Store) ListPodStatusItems(ctx context.Context) ([]Item[api.PodStatus], int64, error) {
	return list[api.PodStatus](ctx, s, PodStatus)
}

// PodStatuses keys the items of PodStatus (from a list or a Cache) by their Pod. Where two
// nodes hold a status of one Pod name (one left by a Pod deleted while undecodable, or written
// by a node the Pod was never bound to) the latest write wins; readers that have the Pods use
// BoundStatuses, which trusts only the Pod's own node.
func PodStatuses(items []Item[api.PodStatus]) map[api.PodKey]api.PodStatus {
	out := make(map[api.PodKey]api.PodStatus, len(items))
	revs := make(map[api.PodKey]int64, len(items))
	for _, it := range items {
		_, key, ok := parsePodStatusName(it.Name)
		if !ok || revs[key] > it.ModRevision {
			continue
		}
		out[key], revs[key] = it.Value, it.ModRevision
	}
	return out
}

// BoundStatuses keys by Pod the statuses of items written under the node each of pods is bound
// to. A node may write statuses under its own name for any Pod name; only the node a Pod is
// bound to speaks for it.
func BoundStatuses(pods []Item[api.Pod], items []Item[api.PodStatus]) map[api.PodKey]api.PodStatus {
	nodeOf := make(map[api.PodKey]string, len(pods))
	for _, p := range pods {
		if n := p.Value.Spec.NodeName; n != "" {
			nodeOf[api.PodKeyOf(&p.Value)] = n
		}
	}
	out := make(map[api.PodKey]api.PodStatus, len(items))
	for _, it := range items {
		node, key, ok := parsePodStatusName(it.Name)
		if ok && nodeOf[key] == node {
			out[key] = it.Value
		}
	}
	return out
}

// parsePodStatusName splits the name of a status below PodStatus, node/namespace/name.
func parsePodStatusName(name string) (node string, key api.PodKey, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || parts[0] == "" {
		return "", api.PodKey{}, false
	}
	return parts[0], api.PodKey{Namespace: parts[1], Name: parts[2]}, true
}

// ListPodsWithStatus reads Pods with their observed status merged in, as `get pods` shows them
// (see MergeStatuses).
func (s *Store) ListPodsWithStatus(ctx context.Context) ([]api.Pod, error) {
	pods, _, err := s.ListPods(ctx)
	if err != nil {
		return nil, err
	}
	sts, _, err := s.ListPodStatusItems(ctx)
	if err != nil {
		return nil, err
	}
	nodes, _, err := s.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	return MergeStatuses(pods, BoundStatuses(pods, sts), ReadyNodes(nodes)), nil
}

// ReadyNodes returns the names of the nodes that are Ready.
func ReadyNodes(nodes []Item[api.Node]) map[string]bool {
	out := map[string]bool{}
	for _, n := range nodes {
		if n.Value.Status.Ready {
			out[n.Value.Metadata.Name] = true
		}
	}
	return out
}

// MergeStatuses returns the Pods with their observed status merged in: a status the agent
// reported replaces the scheduler's reason for a Pod that is not yet running, a Pod with
// neither is Pending, and a Pod bound to a node that is not in ready (NotReady, or gone) is
// Unknown and not ready, whatever its agent last said: nothing runs it that anyone can see.
func MergeStatuses(pods []Item[api.Pod], sts map[api.PodKey]api.PodStatus, ready map[string]bool) []api.Pod {
	out := make([]api.Pod, 0, len(pods))
	for _, it := range pods {
		p := it.Value
		if st, ok := sts[api.PodKeyOf(&p)]; ok {
			p.Status = st
		} else if p.Status.Phase == "" {
			p.Status.Phase = api.PodPending
		}
		if node := p.Spec.NodeName; node != "" && !ready[node] {
			p.Status.Phase, p.Status.Ready = api.PodUnknown, false
			p.Status.Reason, p.Status.Message = api.ReasonNodeLost, "node "+node+" is NotReady"
		}
		out = append(out, p)
	}
	return out
}
