package endpoints

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// putService writes svc as the sync controller would.
func putService(t testing.TB, st *store.Store, svc *api.Service) {
	t.Helper()
	b, err := json.Marshal(svc)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, st, store.Desired, api.KeyOf(svc).String(), string(b))
}

// registerNode registers a Ready node with a heartbeat, as its agent would.
func registerNode(t testing.TB, st *store.Store, name string) {
	t.Helper()
	ctx := context.Background()
	lease, err := st.GrantLease(ctx, time.Minute)
	if err == nil {
		err = st.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: name}, Status: api.NodeStatus{Ready: true}})
	}
	if err == nil {
		err = st.PutNodeLease(ctx, name, lease)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// createPod creates p (from pod) bound to its node, as the scheduler leaves it.
func createPod(t testing.TB, st *store.Store, p api.Pod) {
	t.Helper()
	p.TypeMeta = api.TypeMeta{APIVersion: "v1", Kind: api.KindPod}
	status := p.Status
	p.Status = api.PodStatus{}
	if err := st.CreatePod(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	if status.Phase != "" {
		report(t, st, p, status)
	}
}

// report writes status as p's node's agent would.
func report(t testing.TB, st *store.Store, p api.Pod, status api.PodStatus) {
	t.Helper()
	if err := st.PutPodStatus(context.Background(), p.Spec.NodeName, p.Metadata.Namespace, p.Metadata.Name, 0, status); err != nil {
		t.Fatal(err)
	}
}

// start runs a controller until the test ends.
func start(t testing.TB, st *store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = New(st, fixture.Logger(t)).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// stored reads the record of default/name; ok is false when there is none.
func stored(t testing.TB, st *store.Store, name string) (api.Endpoints, bool) {
	t.Helper()
	v, ok := storetest.Get(t, st, store.Endpoints, "default/"+name)
	var ep api.Endpoints
	if ok {
		if err := json.Unmarshal([]byte(v), &ep); err != nil {
			t.Fatalf("decode %s: %v", v, err)
		}
	}
	return ep, ok
}

// summary renders ep's endpoints as "pod:ip:ready:ports ...".
func summary(ep api.Endpoints) string {
	var b []byte
	for i, e := range ep.Endpoints {
		if i > 0 {
			b = append(b, ' ')
		}
		r := "-"
		if e.Ready {
			r = "ready"
		}
		pb, _ := json.Marshal(e.Ports)
		b = append(b, e.Pod+":"+e.IP+":"+e.Node+":"+r+":"+string(pb)...)
	}
	return string(b)
}
