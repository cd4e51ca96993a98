package netnstest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The hosts' network: a private /24 on a bridge in the test's own namespace (the "switch").
// Nothing of it exists outside the namespaces the test made, so it cannot clash with the
// machine's network; .254 is the switch's own address, through which the test reaches the hosts.
const (
	hostsNet     = "192.168.77."
	hostsPrefix  = "/24"
	switchBridge = "gfsw0"
	switchIP     = hostsNet + "254"
	// maxHostName keeps the switch side of a host's veth ("sw-" + name) within the 15 bytes
	// of a link name.
	maxHostName = 12
)

// Host is a machine of a multi-host test: a network namespace of the test's own, with lo up
// and eth0 at IP, cabled by a veth pair to the switch. Start processes on it with Command,
// which enters only its network namespace: `ip netns exec` would also give the process a
// private mount namespace, and the Pod network namespaces an agent mounts there would be
// hidden from containerd.
type Host struct {
	// Name is the host's short name in the test (a, b, c).
	Name string
	// IP is the host's address on the switch.
	IP string
	// NetNS is the path of the host's network namespace.
	NetNS string
	// port is the switch's end of the host's cable, in the test's namespace.
	port string
}

// NewHosts creates one host per name on a new switch, and removes them when t ends (after
// the cleanups registered later, so the processes started on them stop first). It must run
// in Run's child: the switch is the test's own namespace, never the machine's. Hosts get
// 192.168.77.1, .2, ... in the order of names.
func NewHosts(t testing.TB, names ...string) []*Host {
	t.Helper()
	parent := os.Getenv(EnvVar)
	if parent == "" {
		t.Fatal("netnstest.NewHosts runs only inside netnstest.Run: the switch must be the test's own network namespace")
	}
	assertInside(t, parent)
	Exec(t, "ip", "link", "add", switchBridge, "type", "bridge")
	// Removed after the hosts, for the next NewHosts in this namespace (a benchmark's runs).
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "link", "del", switchBridge).CombinedOutput(); err != nil {
			t.Errorf("ip link del %s: %v: %s", switchBridge, err, out)
		}
	})
	Exec(t, "ip", "addr", "add", switchIP+hostsPrefix, "dev", switchBridge)
	Exec(t, "ip", "link", "set", switchBridge, "up")
	hosts := make([]*Host, 0, len(names))
	for i, name := range names {
		hosts = append(hosts, newHost(t, parent, name, hostsNet+strconv.Itoa(i+1)))
	}
	return hosts
}

// newHost creates the namespace <parent>-<name>, unique because parent is, and cables it.
func newHost(t testing.TB, parent, name, ip string) *Host {
	t.Helper()
	if name == "" || len(name) > maxHostName || strings.ContainsAny(name, "/ ") {
		t.Fatalf("host name %q: want 1 to %d characters, no slash or space", name, maxHostName)
	}
	ns := parent + "-" + name
	h := &Host{Name: name, IP: ip, NetNS: "/run/netns/" + ns, port: "sw-" + name}
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	Exec(t, "ip", "link", "add", h.port, "type", "veth", "peer", "name", "eth0", "netns", ns)
	Exec(t, "ip", "link", "set", h.port, "master", switchBridge, "up")
	ipCmd(t, "-n", ns, "addr", "add", ip+hostsPrefix, "dev", "eth0")
	ipCmd(t, "-n", ns, "link", "set", "eth0", "up")
	ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	return h
}

// Command returns a command that runs name on the host: in its network namespace, with the
// test's mounts and everything else.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + h.NetNS, "--", name}, args...)...)
}

// Exec runs a command on the host and returns its combined output; it fails t when the command
// fails.
func (h *Host) Exec(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := h.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("on host %s: %s %s: %v: %s", h.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Disconnect pulls the host's cable from the switch: the host keeps running, unreachable.
func (h *Host) Disconnect(t testing.TB) {
	t.Helper()
	Exec(t, "ip", "link", "set", h.port, "down")
}

// Reconnect plugs the host's cable back in.
func (h *Host) Reconnect(t testing.TB) {
	t.Helper()
	Exec(t, "ip", "link", "set", h.port, "up")
}
