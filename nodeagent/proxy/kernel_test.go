package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/nodeagent"
)

var _ nodeagent.ServiceView = (*Proxy)(nil)

const podPort = 8080

func service(name, clusterIP, protocol string, port, nodePort int32, eps ...api.Endpoint) api.Endpoints {
	return api.Endpoints{Namespace: "default", Name: name, ClusterIP: clusterIP,
		Ports: []api.EndpointsPort{{Protocol: protocol, Port: port, NodePort: nodePort}}, Endpoints: eps}
}

func endpoint(p pod, ready bool) api.Endpoint {
	return api.Endpoint{IP: p.ip, Pod: p.name, Node: "n", Ready: ready, Ports: []int32{podPort}}
}

func syncOK(t *testing.T, px *Proxy, services ...api.Endpoints) {
	t.Helper()
	if err := px.Sync(t.Context(), services); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// askMany makes n TCP requests from ns to addr and counts who answered.
func askMany(t *testing.T, ns, addr string, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		who, _, err := ask(ns, addr)
		if err != nil {
			t.Fatalf("request to %s: %v", addr, err)
		}
		seen[who]++
	}
	return seen
}

func wantRefused(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("%s: got %v, want connection refused", what, err)
	}
}

// TestProxy programs Services into the kernel of a node the test builds and checks them with
// real connections: balance, readiness, node ports, UDP, hairpin, reject, removal.
func TestProxy(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	newNode(t)
	a, b, c := newPod(t, "a", "10.244.0.11", podPort), newPod(t, "b", "10.244.0.12", podPort), newPod(t, "c", "10.244.0.13", podPort)
	px := newTestProxy(t)
	web := service("web", "10.96.0.10", "TCP", 80, 30080, endpoint(a, true), endpoint(b, true), endpoint(c, true))
	dns := service("dns", "10.96.0.53", "UDP", 53, 0, endpoint(a, true), endpoint(b, true), endpoint(c, true))
	self := service("self", "10.96.0.11", "TCP", 80, 0, endpoint(a, true))
	syncOK(t, px, dns, self, web)

	if seen := askMany(t, "", "10.96.0.10:80", 60); len(seen) != 3 {
		t.Errorf("60 requests from the node reached %v, want all of a, b, c", seen)
	}
	if seen := askMany(t, "", testNodeIP+":30080", 30); len(seen) < 2 {
		t.Errorf("30 requests to the node port reached %v, want several backends", seen)
	}
	if who, from, err := ask(b.ns, "10.96.0.11:80"); err != nil || who != "a" || from != b.ip {
		t.Errorf("pod b to the service of a: answered by %q seeing %q, %v; want a seeing %s", who, from, err, b.ip)
	}
	if who, from, err := ask(a.ns, "10.96.0.11:80"); err != nil || who != "a" || from != testGateway {
		t.Errorf("pod a to its own service (hairpin): answered by %q seeing %q, %v; want a seeing %s (masqueraded)", who, from, err, testGateway)
		t.Log(netnstest.Exec(t, "nft", "list", "ruleset"))
	}
	if who, _, err := ask(b.ns, testNodeIP+":30080"); err != nil || who == "" {
		t.Errorf("pod b to the node port: %q, %v", who, err)
	}
	// From outside the node, a node port and a cluster IP: masqueraded, so that the reply
	// comes back through the node whatever the endpoint's route.
	outside := newOutside(t, "192.168.77.2")
	for _, addr := range []string{testNodeIP + ":30080", "10.96.0.10:80"} {
		if who, from, err := ask(outside, addr); err != nil || who == "" || from != testGateway {
			t.Errorf("from outside to %s: answered by %q seeing %q, %v; want seen as %s", addr, who, from, err, testGateway)
		}
	}
	udp := map[string]bool{}
	for range 30 {
		who, err := askUDP("", "10.96.0.53:53")
		if err != nil {
			t.Fatalf("udp to the service: %v", err)
		}
		udp[who] = true
	}
	if len(udp) < 2 {
		t.Errorf("30 datagrams reached %v, want several backends", udp)
	}

	web.Endpoints = []api.Endpoint{endpoint(a, false), endpoint(b, true), endpoint(c, false)}
	syncOK(t, px, dns, self, web)
	if seen := askMany(t, "", "10.96.0.10:80", 20); len(seen) != 1 || seen["b"] != 20 {
		t.Errorf("with only b ready, 20 requests reached %v", seen)
	}

	web.Endpoints = []api.Endpoint{endpoint(a, false), endpoint(b, false)}
	dns.Endpoints = nil
	syncOK(t, px, dns, self, web)
	_, _, err := ask("", "10.96.0.10:80")
	wantRefused(t, "service without a ready endpoint", err)
	_, _, err = ask("", testNodeIP+":30080")
	wantRefused(t, "node port without a ready endpoint", err)
	_, _, err = ask(b.ns, "10.96.0.10:80")
	wantRefused(t, "from a pod, service without a ready endpoint", err)
	// From the node a rejected datagram fails its send (EPERM, as with any reject in output);
	// from a Pod it is answered with ICMP port unreachable.
	_, err = askUDP(b.ns, "10.96.0.53:53")
	wantRefused(t, "from a pod, udp service without an endpoint", err)

	web.Endpoints = []api.Endpoint{endpoint(c, true)}
	syncOK(t, px, web)
	if who, _, err := ask("", "10.96.0.10:80"); err != nil || who != "c" {
		t.Errorf("web after the others were removed: %q, %v", who, err)
	}
	_, _, err = ask("", "10.96.0.11:80")
	wantRefused(t, "removed service", err)
	assertGone(t, "self", "10.96.0.11")

	flushByHand(t, serviceChain(portID("default", "web", protoTCP, "")))
	_, _, err = ask("", "10.96.0.10:80")
	wantRefused(t, "web with its chain flushed by hand", err)
	syncOK(t, px, web) // nothing changed, and no read back due yet: still refused
	_, _, err = ask("", "10.96.0.10:80")
	wantRefused(t, "web flushed by hand, before the read back is due", err)
	px.now = func() time.Time { return time.Now().Add(DefaultVerifyEvery) }
	syncOK(t, px, web) // nothing changed: the resync reads the table and repairs it
	if who, _, err := ask("", "10.96.0.10:80"); err != nil || who != "c" {
		t.Errorf("web after a resync repaired its chain: %q, %v", who, err)
	}
}

func flushByHand(t *testing.T, chain string) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	c.FlushChain(&nftables.Chain{Name: chain, Table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}})
	if err := c.Flush(); err != nil {
		t.Fatalf("flush chain %s: %v", chain, err)
	}
}

// assertGone fails t unless the kernel's table holds no chain and no element of Service name.
func assertGone(t *testing.T, name, clusterIP string) {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := readState(c)
	if err != nil {
		t.Fatal(err)
	}
	for ch := range s.chains {
		if strings.Contains(ch, "default/"+name+"/") {
			t.Errorf("chain %s of the removed service %s is still there", ch, name)
		}
	}
	ip := netip.MustParseAddr(clusterIP)
	for m, els := range s.maps {
		for k := range els {
			if k.addr == ip {
				t.Errorf("map %s still holds %s", m, k)
			}
		}
	}
}

// TestProxyRestart starts a second proxy on the table the first one left, as a restarted agent
// does: it finds nothing to change, and a connection established before keeps working across
// the restart and across a change to another Service.
func TestProxyRestart(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	newNode(t)
	a, b := newPod(t, "a", "10.244.0.11", podPort), newPod(t, "b", "10.244.0.12", podPort)
	web := service("web", "10.96.0.10", "TCP", 80, 30080, endpoint(a, true), endpoint(b, true))
	syncOK(t, newTestProxy(t), web)

	conn, err := dial("", "tcp4", "10.96.0.10:80")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	echo := func(when string) {
		t.Helper()
		msg := fmt.Sprintf("ping %s\n", when)
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatalf("%s: write: %v", when, err)
		}
		buf := make([]byte, 256)
		got := ""
		for !strings.HasSuffix(got, msg) {
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("%s: the established connection broke: %v (read %q)", when, err, got)
			}
			got += string(buf[:n])
		}
	}
	echo("before the restart")

	kc, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	live, err := readState(kc)
	if err != nil {
		t.Fatal(err)
	}
	if changes := diff(live, build(testBridge, netip.MustParsePrefix(testCIDR), []api.Endpoints{web})); len(changes) != 0 {
		t.Errorf("the table read back differs from what was programmed: %v", changes)
	}
	restarted := newTestProxy(t)
	syncOK(t, restarted, web)
	echo("after the restart")

	other := service("other", "10.96.0.20", "TCP", 80, 0, endpoint(a, true))
	syncOK(t, restarted, other, web)
	echo("after another service changed")
	if who, _, err := ask("", "10.96.0.20:80"); err != nil || who != "a" {
		t.Errorf("the new service: %q, %v", who, err)
	}
}
