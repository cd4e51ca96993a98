package endpoints

import (
	"encoding/json"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

// service is a defaulted Service default/name selecting selector (nil: none) on ports.
func service(name string, selector map[string]string, ports ...api.ServicePort) *api.Service {
	s := &api.Service{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindService},
		Metadata: api.ObjectMeta{Name: name, Namespace: "default"}, Spec: api.ServiceSpec{Selector: selector, Ports: ports}}
	api.Default(s)
	return s
}

// pod is a Pod default/name labelled labels, on node n1 with ip and phase, ready or not, whose
// one container has ports.
func pod(name string, labels map[string]string, ip, phase string, ready bool, ports ...api.ContainerPort) api.Pod {
	return api.Pod{Metadata: api.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec:   api.PodSpec{NodeName: "n1", Containers: []api.Container{{Name: "c", Ports: ports}}},
		Status: api.PodStatus{Phase: phase, Ready: ready, PodIP: ip}}
}

func TestCompute(t *testing.T) {
	web := map[string]string{"app": "web"}
	http := api.ServicePort{Name: "http", Port: 80, TargetPort: api.FromString("http")}
	dns := api.ServicePort{Name: "dns", Protocol: api.ProtocolUDP, Port: 53, TargetPort: api.FromString("http")}
	running := func(name, ip string, ready bool, ports ...api.ContainerPort) api.Pod {
		return pod(name, web, ip, api.PodRunning, ready, ports...)
	}
	for _, tt := range []struct {
		name   string
		svc    *api.Service
		status api.ServiceStatus
		pods   []api.Pod
		want   string // the record's JSON
	}{
		{"no allocation yet, numeric target", service("s", web, api.ServicePort{Port: 80, TargetPort: api.FromInt(8080)}), api.ServiceStatus{},
			[]api.Pod{running("b", "10.0.0.10", true), running("a", "10.0.0.9", false)},
			`{"namespace":"default","name":"s","ports":[{"protocol":"TCP","port":80}],"endpoints":[` +
				`{"ip":"10.0.0.9","node":"n1","pod":"a","ready":false,"ports":[8080]},{"ip":"10.0.0.10","node":"n1","pod":"b","ready":true,"ports":[8080]}]}`},
		{"allocation copied, target defaults to port", service("s", web, api.ServicePort{Port: 80}),
			api.ServiceStatus{ClusterIP: "10.96.0.7", NodePorts: []api.ServiceNodePort{{Port: 80, Protocol: "TCP", NodePort: 30001}}},
			[]api.Pod{running("a", "10.0.0.9", true)},
			`{"namespace":"default","name":"s","clusterIP":"10.96.0.7","ports":[{"protocol":"TCP","port":80,"nodePort":30001}],"endpoints":[` +
				`{"ip":"10.0.0.9","node":"n1","pod":"a","ready":true,"ports":[80]}]}`},
		{"named target by protocol, 0 where none", service("s", web, http, dns), api.ServiceStatus{ClusterIP: "10.96.0.7"},
			[]api.Pod{running("a", "10.0.0.1", true, api.ContainerPort{Name: "http", ContainerPort: 8080}),
				running("b", "10.0.0.2", true, api.ContainerPort{Name: "http", ContainerPort: 9090, Protocol: api.ProtocolUDP}),
				running("c", "10.0.0.3", true)},
			`{"namespace":"default","name":"s","clusterIP":"10.96.0.7","ports":[{"name":"http","protocol":"TCP","port":80},{"name":"dns","protocol":"UDP","port":53}],"endpoints":[` +
				`{"ip":"10.0.0.1","node":"n1","pod":"a","ready":true,"ports":[8080,0]},{"ip":"10.0.0.2","node":"n1","pod":"b","ready":true,"ports":[0,9090]},` +
				`{"ip":"10.0.0.3","node":"n1","pod":"c","ready":true,"ports":[0,0]}]}`},
		{"left out: no IP, finished, other labels, other namespace", service("s", web, api.ServicePort{Port: 80}), api.ServiceStatus{},
			[]api.Pod{running("noip", "", false), pod("done", web, "10.0.0.1", api.PodSucceeded, false), pod("failed", web, "10.0.0.2", api.PodFailed, false),
				pod("other", map[string]string{"app": "db"}, "10.0.0.3", api.PodRunning, true),
				func() api.Pod { p := running("elsewhere", "10.0.0.4", true); p.Metadata.Namespace = "prod"; return p }(),
				pod("lost", map[string]string{"app": "web", "tier": "x"}, "10.0.0.5", api.PodUnknown, false)},
			`{"namespace":"default","name":"s","ports":[{"protocol":"TCP","port":80}],"endpoints":[` +
				`{"ip":"10.0.0.5","node":"n1","pod":"lost","ready":false,"ports":[80]}]}`},
		{"ready only when running", service("s", web, api.ServicePort{Port: 80}), api.ServiceStatus{},
			[]api.Pod{pod("a", web, "10.0.0.1", api.PodPending, true)},
			`{"namespace":"default","name":"s","ports":[{"protocol":"TCP","port":80}],"endpoints":[{"ip":"10.0.0.1","node":"n1","pod":"a","ready":false,"ports":[80]}]}`},
		{"no selector, no endpoints", service("s", nil, api.ServicePort{Port: 80}), api.ServiceStatus{ClusterIP: api.ClusterIPNone},
			[]api.Pod{running("a", "10.0.0.1", true)},
			`{"namespace":"default","name":"s","clusterIP":"None","ports":[{"protocol":"TCP","port":80}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(map[string]*api.Service{"default/s": tt.svc}, map[string]api.ServiceStatus{"default/s": tt.status}, tt.pods)
			b, err := json.Marshal(got["default/s"])
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("record =\n%s\nwant\n%s", b, tt.want)
			}
		})
	}
}

func TestComputeKeepsUndecodable(t *testing.T) {
	got := Compute(map[string]*api.Service{"default/bad": nil}, nil, nil)
	if ep, ok := got["default/bad"]; !ok || ep != nil {
		t.Errorf("Compute = %v, want default/bad kept (nil)", got)
	}
}

func TestDiff(t *testing.T) {
	rec := func(name string, ready bool) *api.Endpoints {
		return &api.Endpoints{Namespace: "default", Name: name, Ports: []api.EndpointsPort{{Protocol: "TCP", Port: 80}},
			Endpoints: []api.Endpoint{{IP: "10.0.0.1", Pod: "p", Ready: ready, Ports: []int32{80}}}}
	}
	// read is the record as read back from etcd: JSON leaves no empty list.
	read := func(ep *api.Endpoints) api.Endpoints {
		b, _ := json.Marshal(ep)
		var out api.Endpoints
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	empty := &api.Endpoints{Namespace: "default", Name: "e", Endpoints: []api.Endpoint{}}
	for _, tt := range []struct {
		name   string
		want   map[string]*api.Endpoints
		stored map[string]api.Endpoints
		plan   string
	}{
		{"create, update, delete, unchanged",
			map[string]*api.Endpoints{"default/a": rec("a", true), "default/b": rec("b", true), "default/c": rec("c", false)},
			map[string]api.Endpoints{"default/b": read(rec("b", false)), "default/c": read(rec("c", false)), "default/d": read(rec("d", true))},
			"[create default/a update default/b unchanged default/c delete default/d]"},
		{"an empty list equals none", map[string]*api.Endpoints{"default/e": empty}, map[string]api.Endpoints{"default/e": read(empty)},
			"[unchanged default/e]"},
		{"undecodable Service keeps its record", map[string]*api.Endpoints{"default/a": nil, "default/z": nil},
			map[string]api.Endpoints{"default/a": read(rec("a", true))}, "[unchanged default/a]"},
		{"nothing", nil, nil, "[]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := Diff(tt.want, tt.stored)
			got := "["
			for i, c := range cs {
				if i > 0 {
					got += " "
				}
				got += c.Action.String() + " " + c.Name
				if (c.Action == Create || c.Action == Update) && c.Endpoints != tt.want[c.Name] {
					t.Errorf("%s %s writes %v, want %v", c.Action, c.Name, c.Endpoints, tt.want[c.Name])
				}
			}
			if got += "]"; got != tt.plan {
				t.Errorf("Diff = %s, want %s", got, tt.plan)
			}
		})
	}
}
