package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// TestDrainTwoHosts drains a real node: up on a, an agent on b, a 4-replica web server spread
// over both. `node drain b` moves b's Pods to a one at a time (never fewer than 3 of 4 running
// meanwhile), leaves b no container, and b, cordoned, gets none of 2 more replicas; uncordoned,
// it gets new Pods again.
func TestDrainTwoHosts(t *testing.T) {
	testenv.RequireDaemon(t)
	if !netnstest.Run(t) {
		return
	}
	f := newFleet(t, "a", "b")
	f.startUp()
	b := f.host("b")
	f.startAgent(b)
	f.waitNodes(2)
	f.deploy(4)
	f.waitFor("4 Pods running on both hosts", 120*time.Second, func() error {
		pods, err := f.runningPods(4)
		if err != nil {
			return err
		}
		if per := perNode(pods); per["a"] == 0 || per["b"] == 0 {
			return fmt.Errorf("pods per node %v, want some on each", per)
		}
		return nil
	})

	stop := f.watchRunning()
	out, err := f.cli("node", "drain", "b", "--timeout", "3m")
	low := stop()
	if err != nil {
		t.Fatalf("node drain b: %v: %s", err, out)
	}
	t.Logf("%s; fewest running during the drain: %d of 4", strings.TrimSpace(out), low)
	if low < 3 {
		t.Errorf("the drain left %d of 4 replicas running at one point, want at least 3", low)
	}
	f.waitFor("4 Pods running on a, no container on b", 60*time.Second, func() error {
		pods, err := f.runningPods(4)
		if err != nil {
			return err
		}
		if per := perNode(pods); per["a"] != 4 {
			return fmt.Errorf("pods per node %v, want 4 on a", per)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if ctrs, running, err := b.containers(ctx); err != nil || ctrs+running > 0 {
			return fmt.Errorf("host b: %d containers, %d running, %v", ctrs, running, err)
		}
		return nil
	})

	f.deploy(6)
	f.waitFor("6 Pods running, all on a (b is cordoned)", 120*time.Second, func() error {
		pods, err := f.runningPods(6)
		if err != nil {
			return err
		}
		if per := perNode(pods); per["a"] != 6 {
			return fmt.Errorf("pods per node %v, want 6 on a", per)
		}
		return nil
	})
	if out, err := f.cli("node", "uncordon", "b"); err != nil {
		t.Fatalf("node uncordon b: %v: %s", err, out)
	}
	f.deploy(8)
	f.waitFor("8 Pods running, new ones on b again", 120*time.Second, func() error {
		pods, err := f.runningPods(8)
		if err != nil {
			return err
		}
		if per := perNode(pods); per["b"] == 0 {
			return fmt.Errorf("pods per node %v, want some on b", per)
		}
		return nil
	})
}

// watchRunning counts the running, ready Pods every 200 ms until stop, which returns the fewest
// it saw.
func (f *fleet) watchRunning() (stop func() int) {
	var mu sync.Mutex
	low := 1 << 30
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			pods, err := f.pods()
			if err != nil {
				continue
			}
			n := 0
			for _, p := range pods {
				if p.Status.Phase == "Running" && p.Status.Ready {
					n++
				}
			}
			mu.Lock()
			low = min(low, n)
			mu.Unlock()
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return low
	}
}
