package proxy

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
)

// cluster is n Services of m ready endpoints each, with a node port each, and distinct cluster
// IPs and endpoint addresses.
func cluster(n, m int) []api.Endpoints {
	out := make([]api.Endpoints, n)
	for i := range out {
		eps := make([]api.Endpoint, m)
		for j := range eps {
			k := i*m + j
			eps[j] = api.Endpoint{IP: fmt.Sprintf("10.244.%d.%d", k/250, k%250+1), Pod: fmt.Sprintf("p%d", k), Ready: true, Ports: []int32{8080}}
		}
		out[i] = api.Endpoints{Namespace: "bench", Name: fmt.Sprintf("svc-%04d", i),
			ClusterIP: fmt.Sprintf("10.96.%d.%d", 1+i/250, i%250+1),
			Ports:     []api.EndpointsPort{{Name: "http", Protocol: "TCP", Port: 80, NodePort: int32(30000 + i)}},
			Endpoints: eps}
	}
	return out
}

func deleteTable(b *testing.B) {
	b.Helper()
	c, err := nftables.New()
	if err != nil {
		b.Fatal(err)
	}
	c.DelTable(&nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4})
	if err := c.Flush(); err != nil {
		b.Fatalf("delete table: %v", err)
	}
}

// BenchmarkProgram1000x10 programs 1,000 Services of 10 endpoints into an empty table, then
// takes one endpoint out of one Service, which rewrites one chain and deletes another, then
// syncs again with nothing changed: the periodic resync, which reads the table back.
func BenchmarkProgram1000x10(b *testing.B) {
	if !netnstest.RunB(b) {
		return
	}
	services := cluster(1000, 10)
	changed := cluster(1000, 10)
	changed[500].Endpoints[3].Ready = false
	var program, change, resync time.Duration
	for b.Loop() {
		px := newTestProxy(b)
		start := time.Now()
		if err := px.Sync(b.Context(), services); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := px.Sync(b.Context(), changed); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		px.verified = time.Time{} // the periodic read back is due
		if err := px.Sync(b.Context(), changed); err != nil {
			b.Fatal(err)
		}
		program, change, resync = program+mid.Sub(start), change+end.Sub(mid), resync+time.Since(end)
		b.StopTimer()
		px.Close()
		deleteTable(b)
		b.StartTimer()
	}
	b.ReportMetric(float64(program.Milliseconds())/float64(b.N), "ms/program")
	b.ReportMetric(float64(change.Microseconds())/1000/float64(b.N), "ms/change")
	b.ReportMetric(float64(resync.Microseconds())/1000/float64(b.N), "ms/resync")
}

// BenchmarkClusterIPVsPodIP compares new TCP connections from the node to one backend Pod
// through its cluster IP with connections straight to its address, in the same run, with the
// table holding 1,000 other Services as well. DNAT costs on connection setup only.
func BenchmarkClusterIPVsPodIP(b *testing.B) {
	if !netnstest.RunB(b) {
		return
	}
	newNode(b)
	backend := newPod(b, "a", "10.244.0.11", podPort)
	services := append(cluster(1000, 10), service("web", "10.96.0.10", "TCP", 80, 0, endpoint(backend, true)))
	px := newTestProxy(b)
	if err := px.Sync(b.Context(), services); err != nil {
		b.Fatal(err)
	}
	// Requests alternate, one straight, one through the Service, so that the load of a shared
	// machine weighs on both alike.
	const block = 1000
	var direct, viaService time.Duration
	requests := 0
	for b.Loop() {
		for range block {
			direct += timeRequests(b, backend.ip+":8080", 1)
			viaService += timeRequests(b, "10.96.0.10:80", 1)
		}
		requests += block
	}
	directRPS, serviceRPS := float64(requests)/direct.Seconds(), float64(requests)/viaService.Seconds()
	b.ReportMetric(directRPS, "podIP-req/s")
	b.ReportMetric(serviceRPS, "clusterIP-req/s")
	b.ReportMetric((directRPS/serviceRPS-1)*100, "cost-%")
}

// timeRequests makes n requests to addr, each on a new connection, and returns how long they took.
func timeRequests(b *testing.B, addr string, n int) time.Duration {
	start := time.Now()
	for range n {
		if who, _, err := ask("", addr); err != nil || who != "a" {
			b.Fatalf("request to %s: %q, %v", addr, who, err)
		}
	}
	return time.Since(start)
}

// BenchmarkDiff1000x10 is the kernel-free part of a Sync after one endpoint change at the size
// of BenchmarkProgram1000x10: build the model, diff it, keep its state. It flips the endpoint
// back and forth, as a flapping readiness probe would.
func BenchmarkDiff1000x10(b *testing.B) {
	bld := newBuilder("gitfleet0", cidr)
	versions := [2][]api.Endpoints{cluster(1000, 10), cluster(1000, 10)}
	versions[1][500].Endpoints[3].Ready = false
	live := bld.build(versions[0]).state()
	i := 0
	for b.Loop() {
		i++
		m := bld.build(versions[i%2])
		if n := len(diff(live, m)); n != 3 {
			b.Fatalf("%d changes, want 3", n)
		}
		live = m.state()
	}
}
