package services

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// putService writes a desired Service behind the sync controller's back, as it would.
func putService(t *testing.T, st *store.Store, name string, spec api.ServiceSpec) {
	t.Helper()
	svc := &api.Service{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindService},
		Metadata: api.ObjectMeta{Name: name, Namespace: "default"}, Spec: spec}
	api.Default(svc)
	b, err := json.Marshal(svc)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, st, store.Desired, "Service/default/"+name, string(b))
}

func port80() []api.ServicePort { return []api.ServicePort{{Port: 80}} }

// start runs a controller until the test ends or stop is called.
func start(t *testing.T, st *store.Store, pool Pool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = New(st, fixture.Logger(t), Options{Pool: pool}).Run(ctx)
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func state(t *testing.T, st *store.Store) store.ServiceState {
	t.Helper()
	s, err := st.ListServiceState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestControllerAllocates: three Services get distinct addresses in the CIDR, keep them over a
// restart and an update, and a deleted one's address and ledger entry are freed; an explicit
// clusterIP is honoured, and one taken by another Service is an error in the status.
func TestControllerAllocates(t *testing.T) {
	st := etcdtest.Start(t)
	pool, err := NewPool("10.96.0.0/24")
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, st, pool)
	for _, n := range []string{"a", "b", "c"} {
		putService(t, st, n, api.ServiceSpec{Ports: port80()})
	}
	putService(t, st, "fixed", api.ServiceSpec{ClusterIP: "10.96.0.100", Ports: port80()})
	putService(t, st, "np", api.ServiceSpec{Type: api.ServiceTypeNodePort, Ports: []api.ServicePort{{Port: 80}, {Name: "x", Port: 81, NodePort: 30500}}})
	allocated := func(s store.ServiceState) map[string]string {
		out := map[string]string{}
		for name, item := range s.Statuses {
			if ip := item.Value.ClusterIP; ip != "" && s.IPs[ip] == name {
				out[name] = ip
			}
		}
		return out
	}
	fixture.WaitFor(t, "five addresses", func() bool { return len(allocated(state(t, st))) == 5 })
	s := state(t, st)
	first := allocated(s)
	seen := map[string]string{}
	for name, ip := range first {
		if other, dup := seen[ip]; dup {
			t.Fatalf("%s given to %s and %s", ip, name, other)
		}
		seen[ip] = name
		if !pool.Contains(ip) {
			t.Errorf("%s got %s, outside %s", name, ip, pool.CIDR())
		}
	}
	if first["default/fixed"] != "10.96.0.100" {
		t.Errorf("explicit clusterIP not honoured: %v", first)
	}
	np := s.Statuses["default/np"].Value.NodePorts
	if len(np) != 2 || np[0].NodePort != 30000 || np[1].NodePort != 30500 || s.NodePorts[30000] != "default/np" || s.NodePorts[30500] != "default/np" {
		t.Errorf("node ports = %+v, ledger %v", np, s.NodePorts)
	}

	stop()
	putService(t, st, "a", api.ServiceSpec{Ports: []api.ServicePort{{Port: 8080}}, Selector: map[string]string{"app": "a"}})
	start(t, st, pool)
	storetest.Delete(t, st, store.Desired, "Service/default/b")
	putService(t, st, "taken", api.ServiceSpec{ClusterIP: "10.96.0.100", Ports: port80()})
	fixture.WaitFor(t, "b freed", func() bool {
		s := state(t, st)
		_, status := s.Statuses["default/b"]
		return !status && s.IPs[first["default/b"]] == ""
	})
	fixture.WaitFor(t, "the taken address reported", func() bool {
		return state(t, st).Statuses["default/taken"].Value.Error == "clusterIP 10.96.0.100 is already allocated to Service default/fixed"
	})
	after := allocated(state(t, st))
	for _, n := range []string{"default/a", "default/c", "default/fixed", "default/np"} {
		if after[n] != first[n] {
			t.Errorf("%s moved from %s to %s over a restart and an update", n, first[n], after[n])
		}
	}
	if _, ok := after["default/taken"]; ok {
		t.Errorf("default/taken got %s", after["default/taken"])
	}
}

// TestControllersNeverShareAnAddress: two controllers on two clients, without an election,
// racing over thirty Services in a small CIDR never give one address or node port twice.
func TestControllersNeverShareAnAddress(t *testing.T) {
	st, eps := etcdtest.StartWithEndpoints(t)
	other := etcdtest.ConnectCounted(t, eps, new(atomic.Int64)) // a second client, as on another host
	pool, err := NewPool("10.96.0.0/26")
	if err != nil {
		t.Fatal(err)
	}
	start(t, st, pool)
	start(t, other, pool)
	done := make(chan struct{})
	for i := range 30 {
		go func() {
			defer func() { done <- struct{}{} }()
			putService(t, st, fmt.Sprintf("s%02d", i), api.ServiceSpec{Type: api.ServiceTypeNodePort, Ports: port80()})
		}()
	}
	for range 30 {
		<-done
	}
	fixture.WaitFor(t, "thirty Services allocated", func() bool {
		s := state(t, st)
		n := 0
		for _, item := range s.Statuses {
			if item.Value.ClusterIP != "" && len(item.Value.NodePorts) == 1 && item.Value.NodePorts[0].NodePort != 0 {
				n++
			}
		}
		return n == 30
	})
	s := state(t, st)
	ips, ports := map[string]string{}, map[int32]string{}
	for name, item := range s.Statuses {
		ip, port := item.Value.ClusterIP, item.Value.NodePorts[0].NodePort
		if prev, dup := ips[ip]; dup {
			t.Errorf("%s given to %s and %s", ip, prev, name)
		}
		if prev, dup := ports[port]; dup {
			t.Errorf("node port %d given to %s and %s", port, prev, name)
		}
		ips[ip], ports[port] = name, name
		if s.IPs[ip] != name || s.NodePorts[port] != name {
			t.Errorf("%s holds %s and %d, the ledgers say %s and %s", name, ip, port, s.IPs[ip], s.NodePorts[port])
		}
	}
	if len(s.IPs) != 30 || len(s.NodePorts) != 30 {
		t.Errorf("ledgers hold %d addresses and %d ports, want 30 each", len(s.IPs), len(s.NodePorts))
	}
}
