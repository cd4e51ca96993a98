package proxy

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/pkg/netns"
	cnins "github.com/containernetworking/plugins/pkg/ns"

	"github.com/gitfleet/gitfleet/internal/netnstest"
)

// The test node, built inside the test's own network namespace: the Pods' bridge, a node
// address on a link of its own (no default route, as in production namespaces without one), and
// Pods in network namespaces of their own, each behind a veth on the bridge.
const (
	testBridge   = "gitfleet0"
	testGateway  = "10.244.0.1"
	testNodeIP   = "192.168.77.1"
	testCIDR     = "10.96.0.0/16"
	testNodeLink = "node0"
)

// pod is a network namespace on the bridge at ip.
type pod struct {
	name, ns, ip string
}

// newNode gives the test's namespace the bridge, the node address and forwarding.
func newNode(tb testing.TB) {
	tb.Helper()
	for _, args := range [][]string{
		{"link", "add", testBridge, "type", "bridge"},
		{"addr", "add", testGateway + "/24", "dev", testBridge},
		{"link", "set", testBridge, "up"},
		{"link", "add", testNodeLink, "type", "bridge"},
		{"addr", "add", testNodeIP + "/24", "dev", testNodeLink},
		{"link", "set", testNodeLink, "up"},
	} {
		netnstest.Exec(tb, "ip", args...)
	}
	// /proc/sys/net is the namespace of the process that opens it: the test's.
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		tb.Fatalf("enable forwarding: %v", err)
	}
}

// newPod makes a Pod named name at ip that answers TCP and UDP on port with its name.
func newPod(tb testing.TB, name, ip string, port int) pod {
	tb.Helper()
	p := pod{name: name, ns: "gfx-" + randomHex(3) + "-" + name, ip: ip}
	netnstest.Exec(tb, "ip", "netns", "add", p.ns)
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", p.ns).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", p.ns, err, out)
		}
	})
	veth := "v" + name
	for _, args := range [][]string{
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", p.ns},
		{"link", "set", veth, "master", testBridge, "up"},
		// As the CNI bridge plugin's hairpinMode: with br_netfilter the bridge DNATs a Pod's
		// packet to its own Service and sends it back out the port it came in.
		{"link", "set", veth, "type", "bridge_slave", "hairpin", "on"},
		{"-n", p.ns, "addr", "add", ip + "/24", "dev", "eth0"},
		{"-n", p.ns, "link", "set", "eth0", "up"},
		{"-n", p.ns, "link", "set", "lo", "up"},
		{"-n", p.ns, "route", "add", "default", "via", testGateway},
	} {
		netnstest.Exec(tb, "ip", args...)
	}
	p.serve(tb, port)
	return p
}

// serve answers each TCP connection and UDP datagram on port with "name from-address".
func (p pod) serve(tb testing.TB, port int) {
	tb.Helper()
	var l net.Listener
	var u net.PacketConn
	addr := fmt.Sprintf("%s:%d", p.ip, port)
	err := inNetNS(p.ns, func() (err error) {
		if l, err = net.Listen("tcp4", addr); err != nil {
			return err
		}
		u, err = net.ListenPacket("udp4", addr)
		return err
	})
	if err != nil {
		tb.Fatalf("listen in pod %s: %v", p.name, err)
	}
	tb.Cleanup(func() { l.Close(); u.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.answer(c)
		}
	}()
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := u.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = u.WriteTo([]byte(p.name+" "+hostOf(from)), from)
		}
	}()
}

// answer writes the Pod's name and the client's address, then waits for the client to close,
// so that a test may hold a connection open.
func (p pod) answer(c net.Conn) {
	defer c.Close()
	if _, err := io.WriteString(c, p.name+" "+hostOf(c.RemoteAddr())+"\n"); err != nil {
		return
	}
	_, _ = io.Copy(c, c) // echo until the client closes
}

// newOutside makes a machine outside the cluster on the node's network (a veth into the node
// address's bridge) at ip, routing the service range via the node, as a router could.
func newOutside(tb testing.TB, ip string) string {
	tb.Helper()
	ns := "gfx-" + randomHex(3) + "-out"
	netnstest.Exec(tb, "ip", "netns", "add", ns)
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	for _, args := range [][]string{
		{"link", "add", "vout", "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"link", "set", "vout", "master", testNodeLink, "up"},
		{"-n", ns, "addr", "add", ip + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "route", "add", testCIDR, "via", testNodeIP},
	} {
		netnstest.Exec(tb, "ip", args...)
	}
	return ns
}

func hostOf(a net.Addr) string {
	h, _, _ := net.SplitHostPort(a.String())
	return h
}

// ask connects over TCP from network namespace ns ("" for the node) to addr and returns who
// answered and the address it saw the client come from.
func ask(ns, addr string) (who, from string, err error) {
	c, err := dial(ns, "tcp4", addr)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", "", fmt.Errorf("read from %s: %w", addr, err)
	}
	who, from, _ = strings.Cut(strings.TrimSpace(line), " ")
	return who, from, nil
}

// askUDP sends one datagram from network namespace ns ("" for the node) to addr and returns
// who answered.
func askUDP(ns, addr string) (string, error) {
	c, err := dial(ns, "udp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("hi")); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	who, _, _ := strings.Cut(string(buf[:n]), " ")
	return who, nil
}

// dial connects from network namespace ns, the node's when "".
func dial(ns, network, addr string) (c net.Conn, err error) {
	do := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	}
	if ns == "" {
		return c, do()
	}
	return c, inNetNS(ns, do)
}

// inNetNS runs f on a thread switched into the named network namespace; a socket made there
// keeps that namespace wherever it is used later.
func inNetNS(name string, f func() error) error {
	return netns.LoadNetNS("/run/netns/" + name).Do(func(cnins.NetNS) error { return f() })
}

func newTestProxy(tb testing.TB) *Proxy {
	tb.Helper()
	p, err := New(Config{ServiceCIDR: testCIDR, Bridge: testBridge}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
