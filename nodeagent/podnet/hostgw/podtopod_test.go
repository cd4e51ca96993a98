package hostgw

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/netns"
	cnins "github.com/containernetworking/plugins/pkg/ns"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
)

// TestPodToPod builds two nodes in network namespaces of the test's own, each with the Pods'
// bridge and one Pod, joined by a veth pair as by a LAN, and lets a Router on each sync: the
// Pods reach each other and keep their source address, the node reaches the other node's Pod,
// a Pod's traffic to a node's address (outside every Pod range) is masqueraded, and a node that
// leaves the list takes its route with it.
func TestPodToPod(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	prefix := "gfp-" + randomHex(3) + "-"
	hostA, hostB := newNamedNetNS(t, prefix+"ha"), newNamedNetNS(t, prefix+"hb")
	podA, podB := newNamedNetNS(t, prefix+"pa"), newNamedNetNS(t, prefix+"pb")
	ip(t, "link", "add", "eth0", "netns", hostA, "type", "veth", "peer", "name", "eth0", "netns", hostB)
	ip(t, "-n", hostA, "addr", "add", "192.168.77.1/24", "dev", "eth0")
	ip(t, "-n", hostB, "addr", "add", "192.168.77.2/24", "dev", "eth0")
	for _, h := range []string{hostA, hostB} {
		ip(t, "-n", h, "link", "set", "eth0", "up")
		ip(t, "-n", h, "link", "set", "lo", "up")
		netnstest.Exec(t, "ip", "netns", "exec", h, "busybox", "sysctl", "-w", "net.ipv4.ip_forward=1")
	}
	podNetwork(t, hostA, podA, "10.244.1")
	podNetwork(t, hostB, podB, "10.244.2")

	nodes := []api.Node{node("a", "10.244.1.0/24", "192.168.77.1"), node("b", "10.244.2.0/24", "192.168.77.2")}
	routerA, routerB := nsRouter(t, hostA, "10.244.1.0/24"), nsRouter(t, hostB, "10.244.2.0/24")
	podServer := serveRemoteIP(t, podB, "10.244.2.5:8080")
	hostServer := serveRemoteIP(t, hostB, "192.168.77.2:8081")
	if got, err := remoteIP(podA, podServer); err == nil {
		t.Fatalf("pod A reached pod B before any route (as %s)", got)
	}

	sync := func(nodes []api.Node) {
		t.Helper()
		if err := routerA.Sync(t.Context(), "a", nodes); err != nil {
			t.Fatalf("sync a: %v", err)
		}
		if err := routerB.Sync(t.Context(), "b", nodes); err != nil {
			t.Fatalf("sync b: %v", err)
		}
	}
	sync(nodes)
	for _, c := range []struct{ what, from, to, want string }{
		{"pod to pod on another node keeps its address", podA, podServer, "10.244.1.5"},
		{"pod to a node's address leaves the cluster: masqueraded", podA, hostServer, "192.168.77.1"},
		{"a node reaches a pod on another node", hostA, podServer, "192.168.77.1"},
	} {
		if got, err := remoteIP(c.from, c.to); err != nil || got != c.want {
			t.Errorf("%s: seen as %q, %v; want %s", c.what, got, err, c.want)
		}
	}
	netnstest.Exec(t, "ip", "netns", "exec", podA, "busybox", "ping", "-c", "1", "-W", "2", "10.244.2.5")

	sync(nodes[:1]) // b left the list
	if got, err := remoteIP(podA, podServer); err == nil {
		t.Errorf("pod A still reaches pod B (as %s) after node b left", got)
	}
}

// newNamedNetNS makes a network namespace (ip netns add: named, so that ip may name it), removed
// when the test ends.
func newNamedNetNS(t *testing.T, name string) string {
	t.Helper()
	ip(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// podNetwork gives host the Pods' bridge with the gateway net.1/24, and pod an eth0 on it with
// net.5/24 and a default route via the bridge, as the CNI bridge plugin does for a Pod.
func podNetwork(t *testing.T, host, pod, net string) {
	t.Helper()
	ip(t, "-n", host, "link", "add", "gitfleet0", "type", "bridge")
	ip(t, "-n", host, "addr", "add", net+".1/24", "dev", "gitfleet0")
	ip(t, "-n", host, "link", "set", "gitfleet0", "up")
	ip(t, "-n", host, "link", "add", "vethpod", "type", "veth", "peer", "name", "eth0", "netns", pod)
	ip(t, "-n", host, "link", "set", "vethpod", "master", "gitfleet0", "up")
	ip(t, "-n", pod, "addr", "add", net+".5/24", "dev", "eth0")
	ip(t, "-n", pod, "link", "set", "eth0", "up")
	ip(t, "-n", pod, "link", "set", "lo", "up")
	ip(t, "-n", pod, "route", "add", "default", "via", net+".1")
}

func ip(t *testing.T, args ...string) { t.Helper(); netnstest.Exec(t, "ip", args...) }

func nsRouter(t *testing.T, ns, podCIDR string) *Router {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), nil)).With("node", ns)
	r, err := New(Config{PodCIDR: podCIDR, Bridge: "gitfleet0", NetNS: "/run/netns/" + ns}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// serveRemoteIP listens on addr in network namespace ns and answers each connection with the
// address it came from, until the test ends; it returns the address to dial, "ns addr".
func serveRemoteIP(t *testing.T, ns, addr string) string {
	t.Helper()
	var l net.Listener
	err := inNetNS(ns, func() (err error) {
		l, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			_, _ = io.WriteString(c, host)
			c.Close()
		}
	}()
	return addr
}

// remoteIP connects from network namespace ns to addr and returns what the server saw.
func remoteIP(ns, addr string) (string, error) {
	var c net.Conn
	err := inNetNS(ns, func() (err error) {
		// The socket is made here, in ns; it keeps that namespace wherever it is used later.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp4", addr)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", addr, err)
	}
	if len(b) == 0 {
		return "", errors.New("empty answer from " + addr)
	}
	return strings.TrimSpace(string(b)), nil
}

// inNetNS runs f on a thread switched into the named network namespace.
func inNetNS(name string, f func() error) error {
	return netns.LoadNetNS("/run/netns/" + name).Do(func(cnins.NetNS) error { return f() })
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
