package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
)

// nodePort is the web Service's node port in the Services test.
const nodePort = "30080"

// servicesManifest is the web server with n replicas behind a NodePort Service (its targetPort
// a port name) and a headless Service, and a client Pod that only waits to be used.
func servicesManifest(n int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: httpd
          image: gitfleet.local/busybox:1
          command: ["sh", "-c"]
          args:
            - trap 'exit 0' TERM; mkdir -p /tmp/www && echo "hello from $(hostname)" > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www & wait
          ports:
            - {name: http, containerPort: 8080}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http, nodePort: %s}
---
apiVersion: v1
kind: Service
metadata:
  name: web-headless
spec:
  clusterIP: None
  selector: {app: web}
  ports:
    - {name: http, port: 8080}
`, n, nodePort)
}

// clientManifest is a client Pod in default and one in the namespace shop.
const clientManifest = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  containers:
    - name: sh
      image: gitfleet.local/busybox:1
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: shop
spec:
  containers:
    - name: sh
      image: gitfleet.local/busybox:1
      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`

// serviceJSON is one item of get services -o json.
type serviceJSON struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		ClusterIP string `json:"clusterIP"`
	} `json:"spec"`
	Status struct {
		Endpoints []struct {
			IP    string `json:"ip"`
			Port  int    `json:"port"`
			Node  string `json:"node"`
			Ready bool   `json:"ready"`
		} `json:"endpoints"`
	} `json:"status"`
}

// TestServices is the end-to-end test of Services, on two hosts (up on a, an agent on
// b): a client Pod reaches a 3-replica web server by name through its ClusterIP (and one in
// another namespace by NAME.NAMESPACE), spread over
// every backend, including those on the other node; the node port answers on both hosts' addresses;
// the headless Service's name resolves to every ready Pod; scaled to 1, only that one answers;
// deleted, its rules and address are gone.
func TestServices(t *testing.T) {
	testenv.RequireDaemon(t)
	if !netnstest.Run(t) {
		return
	}
	f := newFleet(t, "a", "b")
	f.startUp()
	f.startAgent(f.host("b"))
	f.waitNodes(2)
	f.remote.Write("deploy/web.yaml", servicesManifest(3))
	f.remote.Write("deploy/client.yaml", clientManifest)
	f.remote.CommitAndPush("web behind a Service, and a client")

	web := f.waitService("web", 3)
	client, shopClient := f.waitClient("default"), f.waitClient("shop")
	f.t.Logf("web: clusterIP %s, endpoints %v; client on %s", web.Spec.ClusterIP, web.Status.Endpoints, client.Spec.NodeName)
	backends := f.spread(client, "http://web.default.svc.cluster.local/", 60)
	if len(backends) != 3 {
		t.Fatalf("60 requests reached %v, want all 3 backends", backends)
	}
	for _, name := range []string{"http://web/", "http://web.default/", "http://" + web.Spec.ClusterIP + "/"} {
		if got := f.spread(client, name, 6); len(got) == 0 {
			t.Fatalf("%s: no answer", name)
		}
	}
	if got := f.spread(shopClient, "http://web.default/", 6); len(got) == 0 {
		t.Fatal("http://web.default/ from namespace shop: no answer")
	}
	for _, h := range f.hosts {
		url := "http://" + h.IP + ":" + nodePort + "/"
		for _, from := range f.hosts {
			if out, err := wget(from, url); err != nil || !strings.HasPrefix(out, "hello from web-") {
				t.Fatalf("node port %s from host %s: %q, %v", url, from.Name, out, err)
			}
		}
	}
	if ips := f.lookup(client, "web-headless.default.svc.cluster.local"); !slices.Equal(ips, readyIPs(web)) {
		t.Fatalf("headless Service resolves to %v, want the ready Pods %v", ips, readyIPs(web))
	}

	pushed := time.Now()
	f.remote.Write("deploy/web.yaml", servicesManifest(1))
	f.remote.CommitAndPush("web: 1 replica")
	f.waitFor("only one backend answers", 60*time.Second, func() error {
		if got := f.spread(client, "http://web/", 12); len(got) != 1 {
			return fmt.Errorf("12 requests reached %v", got)
		}
		return nil
	})
	t.Logf("scaled to 1: only that one answers %s after the push", time.Since(pushed).Round(10*time.Millisecond))

	f.remote.Remove("deploy/web.yaml")
	f.remote.CommitAndPush("no web")
	f.waitFor("the Service's rules and address gone", 60*time.Second, func() error {
		if out, _ := f.cli("get", "services", "-o", "json"); strings.Contains(out, web.Spec.ClusterIP) {
			return fmt.Errorf("get services still shows %s", web.Spec.ClusterIP)
		}
		for _, h := range f.hosts {
			if rules := h.Exec(t, "nft", "list", "ruleset"); strings.Contains(rules, web.Spec.ClusterIP) {
				return fmt.Errorf("host %s still has rules for %s", h.Name, web.Spec.ClusterIP)
			}
		}
		return nil
	})
	if out, err := f.clientExec(client, "wget", "-q", "-O", "-", "http://"+web.Spec.ClusterIP+"/"); err == nil {
		t.Fatalf("the deleted Service's address still answers: %q", out)
	}
}

// waitService waits until get services shows name with an address and ready endpoints.
func (f *fleet) waitService(name string, ready int) serviceJSON {
	var svc serviceJSON
	f.waitFor(fmt.Sprintf("Service %s with %d ready endpoints", name, ready), 120*time.Second, func() error {
		out, err := f.cli("get", "services", "-o", "json")
		if err != nil {
			return err
		}
		var l struct{ Items []serviceJSON }
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			return fmt.Errorf("decode get services: %w: %s", err, out)
		}
		for _, s := range l.Items {
			if s.Metadata.Name != name {
				continue
			}
			if svc = s; s.Spec.ClusterIP == "" || len(readyIPs(s)) != ready {
				return fmt.Errorf("Service %s: clusterIP %q, endpoints %v", name, s.Spec.ClusterIP, s.Status.Endpoints)
			}
			return nil
		}
		return fmt.Errorf("no Service %s in %s", name, out)
	})
	return svc
}

// readyIPs are the sorted IPs of svc's ready endpoints.
func readyIPs(svc serviceJSON) []string {
	var out []string
	for _, e := range svc.Status.Endpoints {
		if e.Ready && !slices.Contains(out, e.IP) {
			out = append(out, e.IP)
		}
	}
	slices.Sort(out)
	return out
}

// waitClient waits for the client Pod of namespace ns to run.
func (f *fleet) waitClient(ns string) podJSON {
	var client podJSON
	f.waitFor("the client Pod of "+ns+" running", 120*time.Second, func() error {
		pods, err := f.pods()
		if err != nil {
			return err
		}
		for _, p := range pods {
			if p.Metadata.Name == "client" && p.Metadata.Namespace == ns && p.Status.Phase == "Running" {
				client = p
				return nil
			}
		}
		return fmt.Errorf("client not running")
	})
	return client
}

// spread makes n requests to url from the client Pod and returns the backends that answered.
func (f *fleet) spread(client podJSON, url string, n int) map[string]int {
	f.t.Helper()
	script := fmt.Sprintf("for i in $(seq %d); do wget -q -O - %s; done", n, url)
	out, err := f.clientExec(client, "sh", "-c", script)
	if err != nil {
		f.t.Logf("requests to %s: %v: %s", url, err, out)
	}
	got := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "hello from "); ok {
			got[name]++
		}
	}
	return got
}

// lookup resolves name with the client Pod's resolver and returns the sorted addresses.
func (f *fleet) lookup(client podJSON, name string) []string {
	out, err := f.clientExec(client, "nslookup", name)
	if err != nil {
		f.t.Fatalf("nslookup %s in the client Pod: %v: %s", name, err, out)
	}
	var ips []string
	_, answers, _ := strings.Cut(out, "Name:")
	for _, line := range strings.Split(answers, "\n") {
		if ip, ok := strings.CutPrefix(strings.TrimSpace(line), "Address:"); ok {
			ips = append(ips, strings.TrimSpace(ip))
		}
	}
	slices.Sort(ips)
	return ips
}

// clientExec runs a busybox applet in the client Pod's container: in its network and mount
// namespaces, so with its resolv.conf.
func (f *fleet) clientExec(client podJSON, args ...string) (string, error) {
	h := f.host(client.Spec.NodeName)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nsCtx := namespaces.WithNamespace(ctx, h.ns)
	ctr, err := h.client.LoadContainer(nsCtx, client.Metadata.Namespace+"_client_sh")
	if err != nil {
		return "", fmt.Errorf("load the client's container: %w", err)
	}
	task, err := ctr.Task(nsCtx, nil)
	if err != nil {
		return "", fmt.Errorf("load the client's task: %w", err)
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", fmt.Sprint(task.Pid()), "-n", "-m", "--", "/bin/busybox"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// wget fetches url from host h (its own network namespace, the host's busybox).
func wget(h *fleetHost, url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+h.NetNS, "--", "busybox", "wget", "-q", "-O", "-", url)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
