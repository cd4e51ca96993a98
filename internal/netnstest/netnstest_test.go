package netnstest_test

import (
	"net"
	"os/exec"
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
