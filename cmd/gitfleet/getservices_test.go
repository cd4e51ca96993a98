package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
)

// testServices are a NodePort Service selecting app=web through a named port and one without
// a selector, defaulted as the sync controller stores them.
func testServices() []api.Object {
	web := &api.Service{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindService},
		Metadata: api.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: api.ServiceSpec{Type: api.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
			Ports: []api.ServicePort{{Name: "http", Port: 80, TargetPort: api.FromString("http")}, {Name: "metrics", Port: 9100}}}}
	ext := &api.Service{TypeMeta: api.TypeMeta{APIVersion: "v1", Kind: api.KindService},
		Metadata: api.ObjectMeta{Name: "ext", Namespace: "default"}, Spec: api.ServiceSpec{Ports: []api.ServicePort{{Port: 443}}}}
	api.Default(web)
	api.Default(ext)
	return []api.Object{web, ext}
}

// TestGetServices: `get services` shows each desired Service with its allocation, its
// endpoints record (one Pod ready of two; one without the named port) and its recorded health,
// as a table, a wide table and the JSON of the README.
func TestGetServices(t *testing.T) {
	ctx := context.Background()
	s, eps := etcdtest.StartWithEndpoints(t)
	var writes []store.Write
	for _, o := range testServices() {
		writes = append(writes, store.Write{Key: api.KeyOf(o), Object: o})
	}
	if _, err := s.CommitSync(ctx, store.SyncRecord{Writes: writes, Status: api.SyncStatus{Source: syncSource, Sync: api.SyncSynced}}); err != nil {
		t.Fatal(err)
	}
	web := "default/web"
	if err := s.CommitServiceStatus(ctx, web, &api.ServiceStatus{ClusterIP: "10.96.0.10", NodePorts: []api.ServiceNodePort{
		{Name: "http", Port: 80, Protocol: "TCP", NodePort: 30080}, {Name: "metrics", Port: 9100, Protocol: "TCP", NodePort: 30091}}},
		0, store.ServiceClaims{IPs: []string{"10.96.0.10"}, NodePorts: []int32{30080, 30091}}, store.ServiceClaims{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEndpoints(ctx, &api.Endpoints{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10",
		Ports: []api.EndpointsPort{{Name: "http", Protocol: "TCP", Port: 80, NodePort: 30080}, {Name: "metrics", Protocol: "TCP", Port: 9100, NodePort: 30091}},
		Endpoints: []api.Endpoint{{IP: "10.244.0.5", Node: "n1", Pod: "web-a", Ready: true, Ports: []int32{8080, 9100}},
			{IP: "10.244.1.7", Node: "n2", Pod: "web-b", Ports: []int32{0, 9100}}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutHealth(ctx, api.HealthStatus{Source: syncSource, Health: api.HealthHealthy, Objects: []api.ObjectStatus{
		{Key: api.Key{Kind: api.KindService, Namespace: "default", Name: "web"}, Sync: api.SyncSynced, Health: api.HealthHealthy,
			Message: "1 of 2 Pods selected by app=web are ready"}}}); err != nil {
		t.Fatal(err)
	}
	conn := "--etcd-endpoints=" + strings.Join(eps, ",")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "services"}, `
NAMESPACE   NAME   TYPE        CLUSTER-IP   PORT(S)                       ENDPOINTS   HEALTH
default     ext    ClusterIP   -            443/TCP                       -           -
default     web    NodePort    10.96.0.10   80:30080/TCP,9100:30091/TCP   1/2         Healthy
`},
		{[]string{"get", "svc", "-o", "wide"}, `
NAMESPACE   NAME   TYPE        CLUSTER-IP   PORT(S)                       ENDPOINTS   HEALTH    SELECTOR   ENDPOINT-IPS
default     ext    ClusterIP   -            443/TCP                       -           -         -          -
default     web    NodePort    10.96.0.10   80:30080/TCP,9100:30091/TCP   1/2         Healthy   app=web    10.244.0.5,10.244.1.7(not-ready)
`},
	} {
		out, stderr, err := runCLI(append(tt.args, conn)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", tt.args, err, stderr)
		}
		if strings.TrimSpace(out) != strings.TrimSpace(tt.want) {
			t.Errorf("%v =\n%s\nwant\n%s", tt.args, out, strings.TrimSpace(tt.want))
		}
	}

	out, stderr, err := runCLI("get", "services", "-o", "json", conn)
	if err != nil {
		t.Fatalf("get services -o json: %v\n%s", err, stderr)
	}
	var got map[string][]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	items := got["items"]
	if len(items) != 2 {
		t.Fatalf("items = %s", out)
	}
	for what, want := range map[string]string{
		"ext spec":   `{"type":"ClusterIP","clusterIP":"","selector":{},"ports":[{"protocol":"TCP","port":443,"targetPort":443}]}`,
		"ext status": `{"endpoints":[]}`,
		"web spec": `{"type":"NodePort","clusterIP":"10.96.0.10","selector":{"app":"web"},"ports":[` +
			`{"name":"http","protocol":"TCP","port":80,"targetPort":"http","nodePort":30080},{"name":"metrics","protocol":"TCP","port":9100,"targetPort":9100,"nodePort":30091}]}`,
		"web status": `{"endpoints":[{"ip":"10.244.0.5","port":8080,"name":"http","node":"n1","ready":true,"pod":"web-a"},` +
			`{"ip":"10.244.0.5","port":9100,"name":"metrics","node":"n1","ready":true,"pod":"web-a"},` +
			`{"ip":"10.244.1.7","port":9100,"name":"metrics","node":"n2","ready":false,"pod":"web-b"}]}`,
	} {
		name, field, _ := strings.Cut(what, " ")
		item := items[0]
		if name == "web" {
			item = items[1]
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, item[field]); err != nil {
			t.Fatal(err)
		}
		if compact.String() != want {
			t.Errorf("%s =\n%s\nwant\n%s", what, compact.String(), want)
		}
	}
	if !strings.Contains(string(items[1]["metadata"]), `"name": "web"`) {
		t.Errorf("web metadata = %s", items[1]["metadata"])
	}

	// status lists a Service among the objects, as the workload controller recorded it.
	out, stderr, err = runCLI("status", conn)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, stderr)
	}
	wantLines(t, out, "KIND/NS/NAME ", "Service/default/web   Synced   Healthy   1 of 2 Pods selected by app=web are ready")
}

// TestDiffShowsServices: `diff` plans Services through the kinds table like any object.
func TestDiffShowsServices(t *testing.T) {
	_, eps := etcdtest.StartWithEndpoints(t)
	dir := t.TempDir()
	manifest := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n    - port: 80\n      targetPort: http\n"
	if err := os.WriteFile(filepath.Join(dir, "svc.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCLI("diff", "--color=never", "--etcd-endpoints="+strings.Join(eps, ","), dir)
	if code, ok := err.(exitCode); !ok || code != 1 {
		t.Fatalf("diff = %v, want exit 1\n%s%s", err, out, stderr)
	}
	for _, want := range []string{"+kind: Service", "+  name: web", "+    targetPort: http", "+  type: ClusterIP"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
}
