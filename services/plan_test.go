package services

import (
	"fmt"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

func TestPlan(t *testing.T) {
	pool, _ := NewPool("10.96.0.0/24")
	svc := func(ip string) *api.Service {
		return &api.Service{Spec: api.ServiceSpec{ClusterIP: ip, Ports: []api.ServicePort{{Port: 80}}}}
	}
	status := func(ip string, rev int64) store.Item[api.ServiceStatus] {
		return store.Item[api.ServiceStatus]{Value: api.ServiceStatus{ClusterIP: ip}, ModRevision: rev}
	}
	for _, tt := range []struct {
		name string
		st   store.ServiceState
		want string // the changes, fmt'd
	}{
		{"new gets the first free", store.ServiceState{Services: map[string]*api.Service{"d/a": svc(""), "d/b": svc("")},
			IPs: map[string]string{"10.96.0.1": "d/b"}, Statuses: map[string]store.Item[api.ServiceStatus]{"d/b": status("10.96.0.1", 7)}},
			"[d/a 10.96.0.2 rev 0 take [10.96.0.2] free []]"},
		{"kept changes nothing", store.ServiceState{Services: map[string]*api.Service{"d/b": svc("")},
			IPs: map[string]string{"10.96.0.9": "d/b"}, Statuses: map[string]store.Item[api.ServiceStatus]{"d/b": status("10.96.0.9", 7)}},
			"[]"},
		{"explicit first, then new", store.ServiceState{Services: map[string]*api.Service{"d/a": svc(""), "d/z": svc("10.96.0.1")}},
			"[d/a 10.96.0.2 rev 0 take [10.96.0.2] free [] d/z 10.96.0.1 rev 0 take [10.96.0.1] free []]"},
		{"explicit taken", store.ServiceState{Services: map[string]*api.Service{"d/a": svc("10.96.0.1")}, IPs: map[string]string{"10.96.0.1": "d/b"}},
			"[d/a  (clusterIP 10.96.0.1 is already allocated to Service d/b) rev 0 take [] free [] d/b <nil> rev 0 take [] free [10.96.0.1]]"},
		{"outside the CIDR", store.ServiceState{Services: map[string]*api.Service{"d/a": svc("10.97.0.1")}},
			"[d/a  (clusterIP 10.97.0.1 is outside the service CIDR 10.96.0.0/24) rev 0 take [] free []]"},
		{"changed to explicit frees the old", store.ServiceState{Services: map[string]*api.Service{"d/a": svc("10.96.0.5")},
			IPs: map[string]string{"10.96.0.1": "d/a"}, Statuses: map[string]store.Item[api.ServiceStatus]{"d/a": status("10.96.0.1", 3)}},
			"[d/a 10.96.0.5 rev 3 take [10.96.0.5] free [10.96.0.1]]"},
		{"deleted frees all", store.ServiceState{Services: map[string]*api.Service{},
			IPs: map[string]string{"10.96.0.1": "d/a"}, NodePorts: map[int32]string{30000: "d/a"}, Statuses: map[string]store.Item[api.ServiceStatus]{"d/a": status("10.96.0.1", 3)}},
			"[d/a <nil> rev 3 take [] free [10.96.0.1 30000]]"},
		{"undecodable keeps", store.ServiceState{Services: map[string]*api.Service{"d/a": nil},
			IPs: map[string]string{"10.96.0.1": "d/a"}, Statuses: map[string]store.Item[api.ServiceStatus]{"d/a": status("10.96.0.1", 3)}},
			"[]"},
		{"headless holds nothing", store.ServiceState{Services: map[string]*api.Service{"d/a": svc(api.ClusterIPNone)}},
			"[d/a None rev 0 take [] free []]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range Plan(tt.st, pool) {
				s := "<nil>"
				if c.Status != nil {
					s = c.Status.ClusterIP
					if c.Status.Error != "" {
						s += " (" + c.Status.Error + ")"
					}
				}
				got = append(got, fmt.Sprintf("%s %s rev %d take %v free %v", c.Service, s, c.Rev,
					append(c.Take.IPs, ports(c.Take.NodePorts)...), append(c.Release.IPs, ports(c.Release.NodePorts)...)))
			}
			if g := fmt.Sprint(got); g != tt.want && !(len(got) == 0 && tt.want == "[]") {
				t.Errorf("Plan =\n%s\nwant\n%s", g, tt.want)
			}
		})
	}
}

func ports(ps []int32) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprint(p)
	}
	return out
}

// TestPlanNodePorts: a NodePort Service keeps its node ports over an update by port name, and
// an explicit one taken by another Service is reported, not allocated in its place.
func TestPlanNodePorts(t *testing.T) {
	pool, _ := NewPool("10.96.0.0/24")
	np := func(ports ...api.ServicePort) *api.Service {
		return &api.Service{Spec: api.ServiceSpec{Type: api.ServiceTypeNodePort, Ports: ports}}
	}
	st := store.ServiceState{
		Services: map[string]*api.Service{"d/a": np(api.ServicePort{Name: "http", Port: 8080}), "d/b": np(api.ServicePort{Port: 80, NodePort: 30001})},
		IPs:      map[string]string{"10.96.0.1": "d/a"}, NodePorts: map[int32]string{30001: "d/a"},
		Statuses: map[string]store.Item[api.ServiceStatus]{"d/a": {ModRevision: 4, Value: api.ServiceStatus{ClusterIP: "10.96.0.1",
			NodePorts: []api.ServiceNodePort{{Name: "http", Port: 80, Protocol: "TCP", NodePort: 30001}}}}},
	}
	changes := Plan(st, pool)
	if len(changes) != 2 {
		t.Fatalf("changes = %+v", changes)
	}
	a, b := changes[0], changes[1]
	if a.Service != "d/a" || a.Status.NodePorts[0].NodePort != 30001 || len(a.Take.NodePorts)+len(a.Release.NodePorts) != 0 {
		t.Errorf("a = %+v", a)
	}
	if b.Status.Error != "nodePort 30001 is already allocated to Service d/a" || b.Status.NodePorts[0].NodePort != 0 || len(b.Take.NodePorts) != 0 {
		t.Errorf("b = %+v %+v", b, b.Status)
	}
}
