package podnet

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
)

// TestHostPortTeardown sets Pods up through the real CNI plugins in a network namespace of the
// test's own and checks that tearing them down removes their hostPort rules: portmap removes
// them only when given the Pod's mappings, which Setup records for Teardown. A network set up
// before they were recorded is cleaned up too, and a Pod with no hostPort gets no portmap rule.
// Each Pod's lo is up, without the loopback plugin.
func TestHostPortTeardown(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	n, err := New(Config{}, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	web := podWithPorts("web", api.ContainerPort{ContainerPort: 80, HostPort: 8080})
	legacy := podWithPorts("legacy", api.ContainerPort{ContainerPort: 80, HostPort: 8081})
	plain := podWithPorts("plain", api.ContainerPort{ContainerPort: 80})
	for id, p := range map[string]*api.Pod{"sb-web": web, "sb-legacy": legacy, "sb-plain": plain} {
		att, err := n.Setup(t.Context(), id, p)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("nsenter", "--net="+att.NetNSPath, "ip", "-o", "link", "show", "lo").CombinedOutput()
		if err != nil || !strings.Contains(string(out), ",UP") {
			t.Errorf("lo of %s is not up: %v: %s", id, err, out)
		}
	}
	nat := natRules(t)
	for _, want := range []string{"--dport 8080 -j DNAT", "--dport 8081 -j DNAT"} {
		if !strings.Contains(nat, want) {
			t.Fatalf("no rule %q after setup:\n%s", want, nat)
		}
	}
	if strings.Contains(nat, "sb-plain") {
		t.Errorf("a Pod without hostPorts has portmap rules:\n%s", nat)
	}
	// as set up by an agent that did not record ports
	if err := os.Remove(filepath.Join(n.dir, "sb-legacy", portsFile)); err != nil {
		t.Fatal(err)
	}
	for id, p := range map[string]*api.Pod{"sb-web": web, "sb-legacy": legacy, "sb-plain": plain} {
		if err := n.Teardown(t.Context(), id, api.PodKeyOf(p)); err != nil {
			t.Fatal(err)
		}
	}
	nat = natRules(t)
	for _, gone := range []string{"-j DNAT", "CNI-DN-", "sb-web", "sb-legacy"} {
		if strings.Contains(nat, gone) {
			t.Errorf("%q left after teardown:\n%s", gone, nat)
		}
	}
	if entries, _ := os.ReadDir(n.dir); len(entries) != 0 {
		t.Errorf("network directories left: %v", entries)
	}
}

func podWithPorts(name string, ports ...api.ContainerPort) *api.Pod {
	p := &api.Pod{}
	p.Metadata.Name, p.Metadata.Namespace = name, "default"
	p.Spec.Containers = []api.Container{{Name: "main", Ports: ports}}
	return p
}

func natRules(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, out)
	}
	return string(out)
}
