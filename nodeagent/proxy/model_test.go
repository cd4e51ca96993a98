package proxy

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gitfleet/gitfleet/api"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var cidr = netip.MustParsePrefix("10.96.0.0/16")

func ep(ip string, ready bool, ports ...int32) api.Endpoint {
	return api.Endpoint{IP: ip, Pod: "pod-" + ip, Node: "n1", Ready: ready, Ports: ports}
}

// scenario is a cluster's Services with one of each case the proxy distinguishes.
func scenario() []api.Endpoints {
	return []api.Endpoints{
		{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10",
			Ports: []api.EndpointsPort{
				{Name: "http", Protocol: "TCP", Port: 80, NodePort: 30080},
				{Name: "metrics", Protocol: "TCP", Port: 9090},
			},
			Endpoints: []api.Endpoint{
				ep("10.244.0.5", true, 8080, 9090),
				ep("10.244.1.7", true, 8081, 0), // no metrics port: no metrics traffic
				ep("10.244.2.9", false, 8080, 9090),
			}},
		{Namespace: "kube-system", Name: "dns", ClusterIP: "10.96.0.53",
			Ports:     []api.EndpointsPort{{Name: "dns", Protocol: "UDP", Port: 53}, {Name: "dns-tcp", Protocol: "TCP", Port: 53}},
			Endpoints: []api.Endpoint{ep("10.244.0.3", true, 53, 53)}},
		{Namespace: "default", Name: "down", ClusterIP: "10.96.0.20",
			Ports:     []api.EndpointsPort{{Protocol: "TCP", Port: 80, NodePort: 30020}},
			Endpoints: []api.Endpoint{ep("10.244.0.8", false, 80)}},
		{Namespace: "default", Name: "headless", ClusterIP: api.ClusterIPNone,
			Ports: []api.EndpointsPort{{Protocol: "TCP", Port: 80}}, Endpoints: []api.Endpoint{ep("10.244.0.9", true, 80)}},
		{Namespace: "default", Name: "pending", Ports: []api.EndpointsPort{{Protocol: "TCP", Port: 80}}},
		{Namespace: "default", Name: "sctp", ClusterIP: "10.96.0.30",
			Ports: []api.EndpointsPort{{Protocol: "SCTP", Port: 80}}, Endpoints: []api.Endpoint{ep("10.244.0.9", true, 80)}},
	}
}

func TestBuildGolden(t *testing.T) {
	got := build("gitfleet0", cidr, scenario()).String()
	path := filepath.Join("testdata", "scenario.nft")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("model differs from %s (run with -update to accept):\n%s", path, got)
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a, b := build("gitfleet0", cidr, scenario()), build("gitfleet0", cidr, scenario())
	if a.String() != b.String() {
		t.Fatal("two builds of the same Services differ")
	}
	for name := range a.chains {
		if len(name) > 255 {
			t.Errorf("chain name of %d bytes exceeds the kernel's limit", len(name))
		}
	}
	long := strings.Repeat("n", 63)
	m := build("gitfleet0", cidr, []api.Endpoints{{Namespace: long, Name: long + long + long, ClusterIP: "10.96.0.1",
		Ports: []api.EndpointsPort{{Name: long, Protocol: "TCP", Port: 80}}, Endpoints: []api.Endpoint{ep("10.244.0.1", true, 80)}}})
	for name := range m.chains {
		if len(name) > 255 {
			t.Errorf("chain name of %d bytes exceeds the kernel's limit", len(name))
		}
	}
}

// withEndpoints returns the scenario with web's endpoints replaced.
func withEndpoints(eps ...api.Endpoint) []api.Endpoints {
	s := scenario()
	s[0].Endpoints = eps
	return s
}

func TestDiff(t *testing.T) {
	full := build("gitfleet0", cidr, scenario())
	for _, tc := range []struct {
		name string
		live *state
		want []api.Endpoints
		// changes is the expected change list, as strings, with chain hashes cut.
		changes []string
	}{
		{name: "nothing changed", live: full.state(), want: scenario()},
		{name: "an endpoint turns unready: its Service's chain is rewritten, its own chain goes",
			live: full.state(),
			want: withEndpoints(ep("10.244.0.5", true, 8080, 9090), ep("10.244.1.7", false, 8081, 0)),
			changes: []string{
				"write chain svc-default/web/tcp/http",
				"flush chain ep-default/web/tcp/http__10.244.1.7/8081",
				"delete chain ep-default/web/tcp/http__10.244.1.7/8081",
			}},
		{name: "a Service loses its last endpoint: reject instead",
			live: full.state(),
			want: withEndpoints(),
			changes: []string{
				"add element no-endpoint-services { 10.96.0.10 . tcp . 80 : goto reject-chain }",
				"add element no-endpoint-services { 10.96.0.10 . tcp . 9090 : goto reject-chain }",
				"add element no-endpoint-nodeports { tcp . 30080 : goto reject-chain }",
				"delete element service-ips { 10.96.0.10 . tcp . 80 : goto svc-default/web/tcp/http }",
				"delete element service-ips { 10.96.0.10 . tcp . 9090 : goto svc-default/web/tcp/metrics }",
				"delete element service-nodeports { tcp . 30080 : goto ext-default/web/tcp/http }",
				// Within a kind, chains go by name, hash first: the order is fixed, not alphabetical.
				"flush chain ep-default/web/tcp/metrics__10.244.0.5/9090",
				"flush chain ep-default/web/tcp/http__10.244.0.5/8080",
				"flush chain ep-default/web/tcp/http__10.244.1.7/8081",
				"flush chain svc-default/web/tcp/metrics",
				"flush chain svc-default/web/tcp/http",
				"flush chain ext-default/web/tcp/http",
				"delete chain ep-default/web/tcp/metrics__10.244.0.5/9090",
				"delete chain ep-default/web/tcp/http__10.244.0.5/8080",
				"delete chain ep-default/web/tcp/http__10.244.1.7/8081",
				"delete chain svc-default/web/tcp/metrics",
				"delete chain svc-default/web/tcp/http",
				"delete chain ext-default/web/tcp/http",
			}},
		{name: "a chain edited by hand is rewritten, an element pointed elsewhere replaced",
			live: edited(full.state()),
			want: scenario(),
			changes: []string{
				"write chain svc-default/web/tcp/http",
				"replace element service-ips { 10.96.0.53 . udp . 53 : goto svc-kube-system/dns/udp/dns }",
			}},
		{name: "an empty table gets everything, chains before what goes to them",
			live: emptyState(),
			want: scenario()[1:2],
			changes: []string{
				"add chain ep-kube-system/dns/udp/dns__10.244.0.3/53",
				"add chain ep-kube-system/dns/tcp/dns-tcp__10.244.0.3/53",
				"add chain svc-kube-system/dns/udp/dns",
				"add chain svc-kube-system/dns/tcp/dns-tcp",
				"add chain endpoints-check", "add chain filter-forward", "add chain filter-input", "add chain filter-output",
				"add chain mark-for-masquerade", "add chain masquerading", "add chain nat-output", "add chain nat-postrouting",
				"add chain nat-prerouting", "add chain reject-chain", "add chain services",
				"write chain ep-kube-system/dns/udp/dns__10.244.0.3/53",
				"write chain ep-kube-system/dns/tcp/dns-tcp__10.244.0.3/53",
				"write chain svc-kube-system/dns/udp/dns",
				"write chain svc-kube-system/dns/tcp/dns-tcp",
				"write chain endpoints-check", "write chain filter-forward", "write chain filter-input", "write chain filter-output",
				"write chain mark-for-masquerade", "write chain masquerading", "write chain nat-output", "write chain nat-postrouting",
				"write chain nat-prerouting", "write chain reject-chain", "write chain services",
				"add element service-ips { 10.96.0.53 . tcp . 53 : goto svc-kube-system/dns/tcp/dns-tcp }",
				"add element service-ips { 10.96.0.53 . udp . 53 : goto svc-kube-system/dns/udp/dns }",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range diff(tc.live, build("gitfleet0", cidr, tc.want)) {
				got = append(got, unhash(c.String()))
			}
			if !slices.Equal(got, tc.changes) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.changes, "\n"))
			}
		})
	}
}

// edited is s after a hand edit: a rule deleted from web's chain, dns's element pointed at
// another chain.
func edited(s *state) *state {
	for name, c := range s.chains {
		if unhash(name) == "svc-default/web/tcp/http" {
			c.rules--
			s.chains[name] = c
		}
	}
	s.maps[mapServiceIPs][elemKey{addr: netip.MustParseAddr("10.96.0.53"), proto: protoUDP, port: 53}] = "services"
	return s
}

// unhash drops the hashes from chain names: "svc-abcdefgh-default/web" is "svc-default/web".
func unhash(s string) string {
	for _, p := range []string{prefixService, prefixExternal, prefixEndpoint} {
		for i := strings.Index(s, p); i >= 0 && i+len(p)+9 <= len(s); {
			if s[i+len(p)+8] == '-' && (i == 0 || s[i-1] == ' ') {
				s = s[:i+len(p)] + s[i+len(p)+9:]
			}
			next := strings.Index(s[i+1:], p)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return s
}

func TestElementKeys(t *testing.T) {
	for _, tc := range []struct {
		set string
		key elemKey
	}{
		{mapServiceIPs, elemKey{addr: netip.MustParseAddr("10.96.1.2"), proto: protoTCP, port: 8443}},
		{mapNoEndpointServices, elemKey{addr: netip.MustParseAddr("10.96.255.254"), proto: protoUDP, port: 53}},
		{mapServiceNodePorts, elemKey{proto: protoTCP, port: 32767}},
	} {
		b := keyBytes(tc.set, tc.key)
		if want := 8 + 4*btoi(!nodePortMap(tc.set)); len(b) != want {
			t.Errorf("%s key %s: %d bytes, want %d", tc.set, tc.key, len(b), want)
		}
		if got, ok := decodeKey(tc.set, b); !ok || got != tc.key {
			t.Errorf("%s key %s read back as %s, %v", tc.set, tc.key, got, ok)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestBuilderMemo checks that a builder reusing its last Services' parts builds what a fresh
// one builds, through a series of changes, including one made in place in the caller's slices.
func TestBuilderMemo(t *testing.T) {
	bld := newBuilder("gitfleet0", cidr)
	steps := [][]api.Endpoints{scenario(), withEndpoints(ep("10.244.0.5", true, 8080, 9090)), withEndpoints(), scenario()[1:], scenario()}
	for i, services := range steps {
		if got, want := bld.build(services).String(), build("gitfleet0", cidr, services).String(); got != want {
			t.Fatalf("step %d: the memo builds\n%s\nwant\n%s", i, got, want)
		}
	}
	services := scenario()
	bld.build(services)
	services[0].Endpoints[0].Ports[0] = 7777 // the caller reuses its slices
	if got := bld.build(services).String(); !strings.Contains(got, "dnat to 10.244.0.5:7777") {
		t.Errorf("a change made in place went unseen:\n%s", got)
	}
}
