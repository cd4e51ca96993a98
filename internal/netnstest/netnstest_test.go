package netnstest_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/internal/netnstest"
)

// TestRunIsolates makes a link inside the test's namespace and checks the parent cannot see it.
func TestRunIsolates(t *testing.T) {
	const link = "gft-probe0"
	if !netnstest.Run(t) {
		if _, err := net.InterfaceByName(link); err == nil {
			t.Fatalf("%s leaked into the parent's network namespace", link)
		}
		return
	}
	netnstest.Exec(t, "ip", "link", "add", link, "type", "bridge")
	if _, err := net.InterfaceByName(link); err != nil {
		t.Fatalf("%s not visible inside the namespace: %v", link, err)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil || lo.Flags&net.FlagUp == 0 {
		t.Fatalf("lo is not up in the namespace: %v", err)
	}
	if err := exec.Command("ip", "link", "show", "eth0").Run(); err == nil {
		t.Fatal("the namespace has the machine's eth0")
	}
}

// TestHosts cables three hosts to a switch: they reach each other and the switch reaches them,
// a disconnected host is cut off until it is reconnected, and none of it shows outside.
func TestHosts(t *testing.T) {
	if !netnstest.Run(t) {
		if _, err := net.InterfaceByName("gfsw0"); err == nil {
			t.Fatal("the switch leaked into the parent's network namespace")
		}
		return
	}
	hosts := netnstest.NewHosts(t, "a", "b", "c")
	ping := func(from *netnstest.Host, ip string) error {
		return from.Command("busybox", "ping", "-c", "1", "-W", "1", ip).Run()
	}
	for _, h := range hosts {
		if err := ping(hosts[0], h.IP); err != nil {
			t.Errorf("host a cannot reach %s at %s: %v", h.Name, h.IP, err)
		}
		if err := exec.Command("busybox", "ping", "-c", "1", "-W", "1", h.IP).Run(); err != nil {
			t.Errorf("the switch cannot reach %s at %s: %v", h.Name, h.IP, err)
		}
	}
	hosts[2].Disconnect(t)
	if err := ping(hosts[0], hosts[2].IP); err == nil {
		t.Error("host a reaches host c after c was disconnected")
	}
	hosts[2].Reconnect(t)
	if err := ping(hosts[0], hosts[2].IP); err != nil {
		t.Errorf("host a cannot reach host c after it was reconnected: %v", err)
	}
	if out := hosts[1].Exec(t, "ip", "-o", "link", "show"); strings.Contains(out, "gfsw0") {
		t.Errorf("host b sees the switch's bridge:\n%s", out)
	}
}
