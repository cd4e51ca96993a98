package endpoints

import (
	"context"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// waitRecord waits until the record of default/name renders as want (see summary).
func waitRecord(t *testing.T, st *store.Store, name, want string) api.Endpoints {
	t.Helper()
	var ep api.Endpoints
	fixture.WaitFor(t, name+" = "+want, func() bool {
		var ok bool
		ep, ok = stored(t, st, name)
		return ok && summary(ep) == want
	})
	return ep
}

// TestControllerFollowsPods: the record of a Service follows its Pods as they get an IP,
// become ready, lose their node and go away, carries the services controller's allocation,
// is written again when changed behind the controller's back, and goes with the Service.
func TestControllerFollowsPods(t *testing.T) {
	ctx := context.Background()
	st := etcdtest.Start(t)
	registerNode(t, st, "n1")
	registerNode(t, st, "n2")
	web := map[string]string{"app": "web"}
	svc := service("web", web, api.ServicePort{Port: 80, TargetPort: api.FromInt(8080)})
	svc.Spec.Type = api.ServiceTypeNodePort
	putService(t, st, svc)
	storetest.Put(t, st, store.ServiceStatus, "default/web",
		`{"clusterIP":"10.96.0.10","nodePorts":[{"port":80,"protocol":"TCP","nodePort":30080}]}`)
	start(t, st)

	pending := api.PodStatus{Phase: api.PodPending}
	pods := []api.Pod{pod("a", web, "", "", false), pod("b", web, "", "", false), pod("c", web, "", "", false),
		pod("db", map[string]string{"app": "db"}, "", "", false)}
	pods[2].Spec.NodeName = "n2"
	for _, p := range pods {
		createPod(t, st, p)
	}
	ep := waitRecord(t, st, "web", "") // no Pod has an IP yet
	if ep.ClusterIP != "10.96.0.10" || len(ep.Ports) != 1 || ep.Ports[0] != (api.EndpointsPort{Protocol: "TCP", Port: 80, NodePort: 30080}) {
		t.Errorf("record = %+v, want the allocation copied", ep)
	}
	for i, p := range pods {
		pending.PodIP = "10.244.0." + string(rune('1'+i))
		report(t, st, p, pending)
	}
	waitRecord(t, st, "web", `a:10.244.0.1:n1:-:[8080] b:10.244.0.2:n1:-:[8080] c:10.244.0.3:n2:-:[8080]`)

	for i, p := range pods[:3] {
		report(t, st, p, api.PodStatus{Phase: api.PodRunning, Ready: true, PodIP: "10.244.0." + string(rune('1'+i))})
	}
	waitRecord(t, st, "web", `a:10.244.0.1:n1:ready:[8080] b:10.244.0.2:n1:ready:[8080] c:10.244.0.3:n2:ready:[8080]`)

	storetest.Delete(t, st, store.NodeLeases, "n2") // n2's agent stopped heartbeating
	waitRecord(t, st, "web", `a:10.244.0.1:n1:ready:[8080] b:10.244.0.2:n1:ready:[8080] c:10.244.0.3:n2:-:[8080]`)

	if err := st.DeletePod(ctx, "default", "a", 0); err != nil {
		t.Fatal(err)
	}
	waitRecord(t, st, "web", `b:10.244.0.2:n1:ready:[8080] c:10.244.0.3:n2:-:[8080]`)

	storetest.Put(t, st, store.Endpoints, "default/web", `{"namespace":"default","name":"web"}`)
	waitRecord(t, st, "web", `b:10.244.0.2:n1:ready:[8080] c:10.244.0.3:n2:-:[8080]`)

	storetest.Delete(t, st, store.Desired, api.KeyOf(svc).String())
	fixture.WaitFor(t, "the record deleted", func() bool { _, ok := stored(t, st, "web"); return !ok })
}

// TestControllerNamedTargetPort: a named targetPort is each Pod's own number for that name,
// and 0 on a Pod that has no port of that name; a Service without a selector gets a record
// without endpoints.
func TestControllerNamedTargetPort(t *testing.T) {
	st := etcdtest.Start(t)
	registerNode(t, st, "n1")
	web := map[string]string{"app": "web"}
	putService(t, st, service("web", web, api.ServicePort{Name: "http", Port: 80, TargetPort: api.FromString("http")},
		api.ServicePort{Name: "metrics", Port: 9100, TargetPort: api.FromInt(9100)}))
	putService(t, st, service("external", nil, api.ServicePort{Port: 443}))
	start(t, st)
	running := api.PodStatus{Phase: api.PodRunning, Ready: true}
	for i, port := range []int32{8080, 9090, 0} {
		p := pod(string(rune('a'+i)), web, "", "", false)
		if port != 0 {
			p.Spec.Containers[0].Ports = []api.ContainerPort{{Name: "http", ContainerPort: port, Protocol: api.ProtocolTCP}}
		}
		running.PodIP = "10.244.0." + string(rune('1'+i))
		p.Status = running
		createPod(t, st, p)
	}
	waitRecord(t, st, "web", `a:10.244.0.1:n1:ready:[8080,9100] b:10.244.0.2:n1:ready:[9090,9100] c:10.244.0.3:n1:ready:[0,9100]`)
	ep := waitRecord(t, st, "external", "")
	if len(ep.Ports) != 1 || ep.Ports[0].Port != 443 || ep.ClusterIP != "" {
		t.Errorf("external = %+v", ep)
	}
}
