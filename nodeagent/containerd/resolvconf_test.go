package containerd

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/internal/testimage"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/dns"
	"github.com/gitfleet/gitfleet/nodeagent/podnet"
	"github.com/gitfleet/gitfleet/store"
)

func TestResolvConfFile(t *testing.T) {
	want := "nameserver 10.244.3.1\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
	if got := resolvConf("10.244.3.1", "shop"); got != want {
		t.Fatalf("resolv.conf:\n%s\nwant:\n%s", got, want)
	}
}

// resolverScript prints the container's resolv.conf, then resolves the Service web by its
// short name, through the search path, as a program in the Pod would. busybox's nslookup asks
// every name of the search path and fails when any is missing, so its output tells, not its
// status.
const resolverScript = `cat /etc/resolv.conf; ` +
	`for i in 1 2 3 4 5 6 7 8 9 10; do nslookup web > /tmp/out 2>&1; grep -q 10.96.0.10 /tmp/out && break; sleep 1; done; ` +
	`if grep -q 10.96.0.10 /tmp/out; then echo resolved=10.96.0.10; else cat /tmp/out; fi; exec sleep 3600`

// TestPodResolvConf runs Pods on the machine's containerd, in a network namespace of the
// test's own, with the node's cluster DNS on the Pod gateway: a Pod's /etc/resolv.conf names
// it, with the search path of its namespace and ndots:5, and resolves a Service's short name
// through it; the file goes with the Pod; a hostNetwork Pod keeps the host's resolv.conf.
func TestPodResolvConf(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	gw, err := podnet.Gateway(podnet.DefaultPodCIDR)
	if err != nil {
		t.Fatal(err)
	}
	srv := startDNS(t, gw.String())
	syncWeb(t, srv)
	rt := dnsRuntime(t, addr, gw.String())
	cfg, ctx := rt.cfg, t.Context()

	t.Run("pod network", func(t *testing.T) {
		pod := commandPod("resolver", api.RestartAlways, resolverScript)
		if _, err := rt.EnsurePod(ctx, pod); err != nil {
			t.Fatalf("ensure: %v", err)
		}
		waitLog(t, cfg.DataDir, pod, resolvConf(gw.String(), "default")+"resolved=10.96.0.10\n")
		file := filepath.Join(rt.podDir(api.PodKeyOf(pod)), resolvConfName)
		if !fileExists(file) {
			t.Fatalf("%s missing while the pod runs", file)
		}
		if err := rt.RemovePod(ctx, api.PodKeyOf(pod)); err != nil {
			t.Fatalf("remove: %v", err)
		}
		if fileExists(file) {
			t.Fatalf("%s left after the pod", file)
		}
	})
	t.Run("host network", func(t *testing.T) {
		host, err := os.ReadFile("/etc/resolv.conf")
		if err != nil {
			t.Skipf("the host has no resolv.conf: %v", err)
		}
		pod := commandPod("host-resolver", api.RestartAlways, "cat /etc/resolv.conf; exec sleep 3600")
		pod.Spec.HostNetwork = true
		if _, err := rt.EnsurePod(ctx, pod); err != nil {
			t.Fatalf("ensure: %v", err)
		}
		waitLog(t, cfg.DataDir, pod, string(host))
		if fileExists(filepath.Join(rt.podDir(api.PodKeyOf(pod)), resolvConfName)) {
			t.Fatal("a hostNetwork pod got a resolv.conf of its own")
		}
	})
}

// TestAgentClusterDNS runs the agent with the cluster DNS as its ServiceView against a real etcd
// and the machine's containerd, in a network namespace of the test's own: a Service's endpoints
// written to etcd reach the DNS through the agent's service loop, and a Pod resolves the
// Service's short name.
func TestAgentClusterDNS(t *testing.T) {
	addr := testenv.RequireContainerd(t)
	if !netnstest.Run(t) {
		return
	}
	gw, err := podnet.Gateway(podnet.DefaultPodCIDR)
	if err != nil {
		t.Fatal(err)
	}
	st := etcdtest.Start(t)
	srv := startDNS(t, gw.String())
	rt := dnsRuntime(t, addr, gw.String())
	ctx := t.Context()
	web := api.Endpoints{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10"}
	b, err := json.Marshal(web)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Client().Put(ctx, store.Key(store.Endpoints, "default/web"), string(b)); err != nil {
		t.Fatalf("put endpoints: %v", err)
	}
	pod := commandPod("resolver", api.RestartAlways, resolverScript)
	pod.Spec.NodeName = "node-a"
	if err := st.CreatePod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := nodeagent.NewAgent(st, rt, log, nodeagent.AgentOptions{Node: nodeagent.NodeConfig{Name: "node-a"},
		Resync: 200 * time.Millisecond, Services: []nodeagent.ServiceView{srv}})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(runCtx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitLog(t, rt.cfg.DataDir, pod, resolvConf(gw.String(), "default")+"resolved=10.96.0.10\n")
}

// dnsRuntime starts a runtime of node-a whose Pods use the cluster DNS at dnsIP, with the
// busybox test image imported, and removes its Pods when the test ends.
func dnsRuntime(t *testing.T, addr, dnsIP string) *Runtime {
	t.Helper()
	cfg := Config{Address: addr, Namespace: testenv.Namespace(t, addr), NodeName: "node-a",
		DataDir: filepath.Join(t.TempDir(), "data"), StopTimeout: time.Second, DNSServer: dnsIP}
	rt := newTestRuntime(t, cfg)
	t.Cleanup(func() { removeAll(t, rt) })
	if _, err := rt.ImportArchive(t.Context(), testimage.BuildBusybox(t, t.TempDir())); err != nil {
		t.Fatalf("import: %v", err)
	}
	return rt
}

// startDNS serves the cluster DNS on ip:53 of the test's network namespace, with no upstream,
// until the test ends.
func startDNS(t *testing.T, ip string) *dns.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := dns.Start(t.Context(), dns.Config{Addr: ip + ":53", ResolvConf: filepath.Join(t.TempDir(), "none")}, log)
	if err != nil {
		t.Fatalf("start dns: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// syncWeb gives the DNS the Service default/web at 10.96.0.10.
func syncWeb(t *testing.T, srv *dns.Server) {
	t.Helper()
	web := api.Endpoints{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10",
		Ports: []api.EndpointsPort{{Name: "http", Protocol: api.ProtocolTCP, Port: 80}}}
	if err := srv.Sync(t.Context(), []api.Endpoints{web}); err != nil {
		t.Fatal(err)
	}
}
