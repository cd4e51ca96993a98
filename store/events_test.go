package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func event(source string, obj api.Key, reason, msg string, at time.Time) api.Event {
	return api.Event{Type: api.EventNormal, Reason: reason, Message: msg, Object: obj, Source: source,
		Count: 1, FirstTime: at, LastTime: at}
}

// An event that says the same as one stored is counted into it; each object keeps the newest
// limit events of a source; every key is under the lease given.
func TestRecordEventsBoundsAndCounts(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	lease, err := s.GrantLease(ctx, store.EventLeaseTTL)
	if err != nil {
		t.Fatal(err)
	}
	pod := api.Key{Kind: api.KindPod, Namespace: "default", Name: "web-1"}
	node := api.Key{Kind: api.KindNode, Name: "n1"}
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const src = "scheduler"
	// One batch: 25 distinct events of the Pod, the same one of the node twice.
	var batch []api.Event
	for i := range 25 {
		batch = append(batch, event(src, pod, api.ReasonScheduled, fmt.Sprintf("try %d", i), t0.Add(time.Duration(i)*time.Second)))
	}
	batch = append(batch, event(src, node, api.ReasonNodeNotReady, "no heartbeat", t0), event(src, node, api.ReasonNodeNotReady, "no heartbeat", t0.Add(time.Minute)))
	if err := s.RecordEvents(ctx, src, lease, batch, 20); err != nil {
		t.Fatal(err)
	}
	// A later batch counts into the stored node event.
	if err := s.RecordEvents(ctx, src, lease, []api.Event{event(src, node, api.ReasonNodeNotReady, "no heartbeat", t0.Add(time.Hour))}, 20); err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.ListEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pods []api.Event
	var nodes []api.Event
	for _, e := range evs {
		switch e.Object {
		case pod:
			pods = append(pods, e)
		case node:
			nodes = append(nodes, e)
		}
	}
	if len(pods) != 20 || pods[0].Message != "try 5" || pods[19].Message != "try 24" {
		t.Errorf("pod events: %d, want the newest 20 (try 5..24): %+v", len(pods), pods)
	}
	if len(nodes) != 1 || nodes[0].Count != 3 || !nodes[0].FirstTime.Equal(t0) || !nodes[0].LastTime.Equal(t0.Add(time.Hour)) {
		t.Errorf("node events = %+v, want one counted 3 from t0 to t0+1h", nodes)
	}
	resp, err := s.Client().Get(ctx, store.Key(store.Events, ""), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 21 {
		t.Errorf("%d event keys, want 21", len(resp.Kvs))
	}
	for _, kv := range resp.Kvs {
		if clientv3.LeaseID(kv.Lease) != lease {
			t.Errorf("%s is under lease %x, want %x", kv.Key, kv.Lease, lease)
		}
	}
	ttl, err := s.Client().TimeToLive(ctx, lease)
	if err != nil || ttl.GrantedTTL != int64(store.EventLeaseTTL.Seconds()) {
		t.Errorf("lease TTL = %+v, %v; want %v", ttl, err, store.EventLeaseTTL)
	}
	// A writer may write only its own source's events.
	if err := s.RecordEvents(ctx, src, lease, []api.Event{event("controller", pod, "X", "y", t0)}, 20); err == nil {
		t.Error("an event of another source was written")
	}
}
