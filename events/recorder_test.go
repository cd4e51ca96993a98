package events_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/events"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
)

type counter struct{ n atomic.Int64 }

func (c *counter) Inc() { c.n.Add(1) }

// A storm of events queued before Run is written in one batch, identical ones counted as one;
// past the queue's size events are dropped and counted, and Event never blocks.
func TestRecorderCoalescesAndDrops(t *testing.T) {
	st := etcdtest.Start(t)
	var dropped counter
	r := events.New(st, api.EventSourceScheduler, events.Options{Queue: 150, Dropped: &dropped})
	for i := range 100 {
		r.Event(api.Key{Kind: api.KindPod, Namespace: "default", Name: fmt.Sprintf("p%d", i)}, api.EventNormal, api.ReasonScheduled, "to n1")
	}
	node := api.Key{Kind: api.KindNode, Name: "n1"}
	for range 100 { // 50 of these fit the queue
		r.Event(node, api.EventWarning, api.ReasonNodeNotReady, "no heartbeat")
	}
	if got := dropped.n.Load(); got != 50 {
		t.Errorf("dropped %d, want 50", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, _, err := st.ListEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var nodeCount int32
		for _, e := range evs {
			if e.Object == node {
				nodeCount += e.Count
			}
		}
		if len(evs) == 101 && nodeCount == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events, node counted %d; want 101, 50", len(evs), nodeCount)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A nil Recorder records nothing, and does not panic.
func TestNilRecorder(t *testing.T) {
	var r *events.Recorder
	r.Event(api.Key{Kind: api.KindPod}, api.EventNormal, api.ReasonStarted, "")
}
