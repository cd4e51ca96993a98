package dns

import (
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/gitfleet/gitfleet/api"
)

// testServices are the Services of the tests: web has a virtual IP and three ports (two named),
// db is headless with two ready Pods, one not ready and one whose name cannot be a label,
// pending has no cluster IP yet, and empty is headless with no Pod.
func testServices() []api.Endpoints {
	return []api.Endpoints{
		{Namespace: "default", Name: "db", ClusterIP: api.ClusterIPNone,
			Ports: []api.EndpointsPort{{Name: "pg", Protocol: api.ProtocolTCP, Port: 5432}},
			Endpoints: []api.Endpoint{
				{IP: "10.244.0.5", Pod: "db-0", Ready: true, Ports: []int32{5432}},
				{IP: "10.244.1.6", Pod: "db-1", Ready: true, Ports: []int32{15432}},
				{IP: "10.244.2.7", Pod: "db-2", Ready: false, Ports: []int32{5432}},
				{IP: "10.244.2.8", Pod: "db.x", Ready: true, Ports: []int32{5432}},
			}},
		{Namespace: "default", Name: "pending", ClusterIP: "",
			Ports: []api.EndpointsPort{{Name: "http", Protocol: api.ProtocolTCP, Port: 80}}},
		{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10",
			Ports: []api.EndpointsPort{
				{Name: "http", Protocol: api.ProtocolTCP, Port: 80},
				{Name: "dns", Protocol: api.ProtocolUDP, Port: 53},
				{Protocol: api.ProtocolTCP, Port: 9090},
			},
			Endpoints: []api.Endpoint{{IP: "10.244.0.9", Pod: "web-1", Ready: true, Ports: []int32{8080, 53, 9090}}}},
		{Namespace: "kube-system", Name: "empty", ClusterIP: api.ClusterIPNone},
	}
}

const soa = "cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"

// TestLookup answers questions from the zone of testServices, as a Pod's resolver asks them.
func TestLookup(t *testing.T) {
	z := buildZone(api.ClusterDomain, testServices())
	tests := []struct {
		name, qname string
		qtype       uint16
		rcode       int
		answer      []string
		extra       []string
		ns          []string
	}{
		{name: "virtual IP", qname: "web.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "any case", qname: "WEB.Default.Svc.Cluster.LOCAL.", qtype: dns.TypeA,
			answer: []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "AAAA of a name with only A is NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeAAAA,
			ns: []string{soa}},
		{name: "other type is NODATA", qname: "web.default.svc.cluster.local.", qtype: dns.TypeTXT,
			ns: []string{soa}},
		{name: "ANY", qname: "web.default.svc.cluster.local.", qtype: dns.TypeANY,
			answer: []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "SRV of a named TCP port", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.web.default.svc.cluster.local. 5 IN SRV 0 100 80 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "SRV of a named UDP port", qname: "_dns._udp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_dns._udp.web.default.svc.cluster.local. 5 IN SRV 0 100 53 web.default.svc.cluster.local."},
			extra:  []string{"web.default.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "SRV of a port under the wrong protocol", qname: "_http._udp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "A of an SRV name is NODATA", qname: "_http._tcp.web.default.svc.cluster.local.", qtype: dns.TypeA,
			ns: []string{soa}},
		{name: "protocol level exists", qname: "_tcp.web.default.svc.cluster.local.", qtype: dns.TypeSRV,
			ns: []string{soa}},
		{name: "headless: every ready Pod", qname: "db.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"db.default.svc.cluster.local. 5 IN A 10.244.0.5", "db.default.svc.cluster.local. 5 IN A 10.244.1.6",
				"db.default.svc.cluster.local. 5 IN A 10.244.2.8"}},
		{name: "headless: a ready Pod by name", qname: "db-1.db.default.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"db-1.db.default.svc.cluster.local. 5 IN A 10.244.1.6"}},
		{name: "headless: a Pod not ready", qname: "db-2.db.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "headless: SRV per ready Pod with its own port", qname: "_pg._tcp.db.default.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.default.svc.cluster.local.",
				"_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 50 15432 db-1.db.default.svc.cluster.local."},
			extra: []string{"db-0.db.default.svc.cluster.local. 5 IN A 10.244.0.5", "db-1.db.default.svc.cluster.local. 5 IN A 10.244.1.6"}},
		{name: "headless with no Pod is NODATA", qname: "empty.kube-system.svc.cluster.local.", qtype: dns.TypeA,
			ns: []string{soa}},
		{name: "no cluster IP yet", qname: "pending.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "unknown Service", qname: "nothing.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "search path of an outside name", qname: "example.com.default.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "namespace exists", qname: "default.svc.cluster.local.", qtype: dns.TypeA, ns: []string{soa}},
		{name: "unknown namespace", qname: "nope.svc.cluster.local.", qtype: dns.TypeA,
			rcode: dns.RcodeNameError, ns: []string{soa}},
		{name: "apex SOA", qname: "cluster.local.", qtype: dns.TypeSOA, answer: []string{soa}},
		{name: "apex A is NODATA", qname: "cluster.local.", qtype: dns.TypeA, ns: []string{soa}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, ok := z.lookup(dns.Question{Name: tt.qname, Qtype: tt.qtype, Qclass: dns.ClassINET}, 0)
			if !ok {
				t.Fatalf("%s not owned by the zone", tt.qname)
			}
			if res.rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[res.rcode], dns.RcodeToString[tt.rcode])
			}
			checkRRs(t, "answer", res.answer, tt.answer)
			checkRRs(t, "extra", res.extra, tt.extra)
			checkRRs(t, "authority", res.ns, tt.ns)
		})
	}
}

// TestLookupOutside leaves the names outside the cluster domain to the upstreams.
func TestLookupOutside(t *testing.T) {
	z := buildZone(api.ClusterDomain, testServices())
	for _, name := range []string{"example.com.", "notcluster.local.", "cluster.local.example.com.", "local.", "."} {
		if res, ok := z.lookup(dns.Question{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET}, 0); ok {
			t.Errorf("%s answered by the zone: %+v", name, res)
		}
	}
}

// TestLookupRotates starts the records of a headless Service at the turn, each turn another.
func TestLookupRotates(t *testing.T) {
	z := buildZone(api.ClusterDomain, testServices())
	q := dns.Question{Name: "db.default.svc.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassINET}
	var firsts []string
	for turn := range uint32(4) {
		res, _ := z.lookup(q, turn)
		if len(res.answer) != 3 {
			t.Fatalf("turn %d: %d answers, want 3", turn, len(res.answer))
		}
		firsts = append(firsts, res.answer[0].(*dns.A).A.String())
	}
	want := []string{"10.244.0.5", "10.244.1.6", "10.244.2.8", "10.244.0.5"}
	if !slices.Equal(firsts, want) {
		t.Fatalf("first answers by turn %q, want %q", firsts, want)
	}
}

// TestBuildZoneSkipsBadNames leaves out what cannot be a name, and an IPv6 Pod gets AAAA.
func TestBuildZoneSkipsBadNames(t *testing.T) {
	z := buildZone(api.ClusterDomain, []api.Endpoints{
		{Namespace: "default", Name: "bad.name", ClusterIP: "10.96.0.1"},
		{Namespace: "default", Name: "noip", ClusterIP: "not-an-ip"},
		{Namespace: "default", Name: "v6", ClusterIP: api.ClusterIPNone,
			Endpoints: []api.Endpoint{{IP: "fd00::5", Pod: "p", Ready: true}, {IP: "garbage", Pod: "q", Ready: true}}},
	})
	for name, want := range map[string]int{
		"bad.name.default.svc.cluster.local.": dns.RcodeNameError,
		"noip.default.svc.cluster.local.":     dns.RcodeNameError,
		"q.v6.default.svc.cluster.local.":     dns.RcodeNameError,
	} {
		if res, _ := z.lookup(dns.Question{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET}, 0); res.rcode != want {
			t.Errorf("%s: rcode %s, want %s", name, dns.RcodeToString[res.rcode], dns.RcodeToString[want])
		}
	}
	res, _ := z.lookup(dns.Question{Name: "p.v6.default.svc.cluster.local.", Qtype: dns.TypeAAAA, Qclass: dns.ClassINET}, 0)
	checkRRs(t, "answer", res.answer, []string{"p.v6.default.svc.cluster.local. 5 IN AAAA fd00::5"})
}

// checkRRs compares records, as their text with single spaces, with want.
func checkRRs(t *testing.T, section string, got []dns.RR, want []string) {
	t.Helper()
	texts := make([]string, 0, len(got))
	for _, rr := range got {
		texts = append(texts, strings.Join(strings.Fields(rr.String()), " "))
	}
	if !slices.Equal(texts, want) {
		t.Errorf("%s:\n got %q\nwant %q", section, texts, want)
	}
}
