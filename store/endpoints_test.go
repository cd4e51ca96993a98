package store_test

import (
	"context"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// TestEndpointsRecords: a record written is listed by namespace/name, replaced whole by the
// next write and gone after a delete; deleting one that is not there is no error.
func TestEndpointsRecords(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	ep := &api.Endpoints{Namespace: "default", Name: "web", ClusterIP: "10.96.0.1",
		Ports:     []api.EndpointsPort{{Protocol: api.ProtocolTCP, Port: 80}},
		Endpoints: []api.Endpoint{{IP: "10.244.0.5", Node: "n1", Pod: "web-1", Ready: true, Ports: []int32{8080}}}}
	if err := s.PutEndpoints(ctx, ep); err != nil {
		t.Fatal(err)
	}
	ep.Endpoints = nil
	if err := s.PutEndpoints(ctx, ep); err != nil {
		t.Fatal(err)
	}
	items, _, err := s.ListEndpoints(ctx)
	if err != nil || len(items) != 1 || items[0].Name != "default/web" || items[0].Value.ClusterIP != "10.96.0.1" || len(items[0].Value.Endpoints) != 0 {
		t.Fatalf("ListEndpoints = %+v, %v", items, err)
	}
	if err := s.DeleteEndpoints(ctx, "default", "web"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoints(ctx, "default", "web"); err != nil {
		t.Fatalf("delete again: %v", err)
	}
	if items, _, err := s.ListEndpoints(ctx); err != nil || len(items) != 0 {
		t.Fatalf("after delete: %+v, %v", items, err)
	}
}

// TestDesiredKindSource: a cache of Desired read through it holds the Services alone, and is
// neither sent nor woken by other kinds.
func TestDesiredKindSource(t *testing.T) {
	s := etcdtest.Start(t)
	storetest.Put(t, s, store.Desired, "Service/default/a", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"default"}}`)
	storetest.Put(t, s, store.Desired, "ConfigMap/default/a", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"default"}}`)
	c := store.NewCache(s.DesiredKindSource(api.KindService), store.Desired, store.DecodeDesiredEntry, store.CacheOptions{})
	woken := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, func() { woken <- struct{}{} })
	}()
	defer func() { cancel(); <-done }()
	<-woken // the list
	storetest.Put(t, s, store.Desired, "ConfigMap/default/b", `{}`)
	storetest.Put(t, s, store.Desired, "Service/default/b", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"b","namespace":"default"}}`)
	<-woken // the first change it is sent must be the Service's
	items := c.List()
	if len(items) != 2 || items[0].Name != "Service/default/a" || items[1].Value.Key != (api.Key{Kind: api.KindService, Namespace: "default", Name: "b"}) {
		t.Fatalf("cache = %+v", items)
	}
	if _, ok := items[1].Value.Object.(*api.Service); !ok {
		t.Fatalf("object = %T", items[1].Value.Object)
	}
}
