package dns

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/gitfleet/gitfleet/api"
)

// BenchmarkServeUDP asks a server on loopback for a Service's address over UDP, from as many
// clients as GOMAXPROCS, each on a connection of its own, in a zone of 1000 Services.
func BenchmarkServeUDP(b *testing.B) {
	s := startServer(b, Config{})
	services := make([]api.Endpoints, 0, 1000)
	for i := range 1000 {
		services = append(services, api.Endpoints{Namespace: "default", Name: fmt.Sprintf("svc-%d", i),
			ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1)})
	}
	if err := s.Sync(b.Context(), services); err != nil {
		b.Fatal(err)
	}
	q := new(dns.Msg).SetQuestion("svc-500.default.svc.cluster.local.", dns.TypeA)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := dns.Client{Net: "udp"}
		conn, err := c.Dial(s.Addr())
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		for pb.Next() {
			r, _, err := c.ExchangeWithConn(q.Copy(), conn)
			if err != nil || len(r.Answer) != 1 {
				b.Errorf("answer %v, %v", r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkBuildZone builds the zone of 1000 Services with a virtual IP and 100 headless ones
// of 10 Pods each: the work of every Sync.
func BenchmarkBuildZone(b *testing.B) {
	services := make([]api.Endpoints, 0, 1100)
	for i := range 1000 {
		services = append(services, api.Endpoints{Namespace: "default", Name: fmt.Sprintf("svc-%d", i),
			ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1),
			Ports:     []api.EndpointsPort{{Name: "http", Protocol: api.ProtocolTCP, Port: 80}}})
	}
	for i := range 100 {
		services = append(services, headless(fmt.Sprintf("headless-%d", i), 10))
	}
	for b.Loop() {
		buildZone(api.ClusterDomain, services)
	}
}
