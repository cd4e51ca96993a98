package services

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Change is one Service's allocation to commit: its new status (nil deletes it) if the record
// is still at Rev, with the ledger entries to take and to free.
type Change struct {
	Service string
	Status  *api.ServiceStatus
	Rev     int64
	Take    store.ServiceClaims
	Release store.ServiceClaims
}

// Plan decides, from one consistent read, what each Service should hold: kept allocations
// first, then explicit addresses, then new ones from the pool, so that a Service created with
// an explicit clusterIP is not beaten to it by one that asked for any. It returns only the
// changes, in Service name order. It is pure: the store is the controller's business.
func Plan(st store.ServiceState, pool Pool) []Change {
	p := &planner{pool: pool, ips: map[string]string{}, ports: map[int32]string{}}
	maps.Copy(p.ips, st.IPs)
	maps.Copy(p.ports, st.NodePorts)
	names := slices.Sorted(maps.Keys(st.Services))
	wants := make(map[string]*want, len(names))
	for _, name := range names {
		if svc := st.Services[name]; svc != nil {
			wants[name] = p.claim(name, svc, st.Statuses[name].Value)
		}
	}
	for _, name := range names {
		if w := wants[name]; w != nil {
			p.allocate(name, w)
		}
	}
	var out []Change
	for _, name := range holders(st) {
		svc, desired := st.Services[name]
		if desired && svc == nil {
			continue // undecodable: keep what it holds until the sync controller repairs it
		}
		if c, ok := change(name, wants[name], st); ok {
			out = append(out, c)
		}
	}
	return out
}

// holders are every Service that is desired, has a status or holds a ledger entry, sorted.
func holders(st store.ServiceState) []string {
	set := map[string]bool{}
	for name := range st.Services {
		set[name] = true
	}
	for name := range st.Statuses {
		set[name] = true
	}
	for _, name := range st.IPs {
		set[name] = true
	}
	for _, name := range st.NodePorts {
		set[name] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// want is what one Service is to hold; ports needing a node port have NodePort 0 until
// allocate gives them one.
type want struct {
	status api.ServiceStatus
	// needIP is set when the Service asks for any virtual IP and holds none.
	needIP bool
}

type planner struct {
	pool  Pool
	ips   map[string]string
	ports map[int32]string
}

// claim fills in what svc keeps from prev or names explicitly, taking it in the planner's
// ledgers; what is taken by another Service becomes the status's error.
func (p *planner) claim(name string, svc *api.Service, prev api.ServiceStatus) *want {
	w := &want{}
	var errs []string
	switch ip := svc.Spec.ClusterIP; {
	case ip == api.ClusterIPNone:
		w.status.ClusterIP = api.ClusterIPNone
	case ip != "" && !p.pool.Contains(ip):
		errs = append(errs, fmt.Sprintf("clusterIP %s is outside the service CIDR %s", ip, p.pool.CIDR()))
	case ip != "":
		if holder := p.ips[ip]; holder != "" && holder != name {
			errs = append(errs, fmt.Sprintf("clusterIP %s is already allocated to Service %s", ip, holder))
		} else {
			p.ips[ip], w.status.ClusterIP = name, ip
		}
	case prev.ClusterIP != "" && prev.ClusterIP != api.ClusterIPNone && p.ips[prev.ClusterIP] == name && p.pool.Contains(prev.ClusterIP):
		w.status.ClusterIP = prev.ClusterIP
	default:
		w.needIP = true
	}
	if svc.Spec.ServiceType() == api.ServiceTypeNodePort {
		for _, sp := range svc.Spec.Ports {
			np := api.ServiceNodePort{Name: sp.Name, Port: sp.Port, Protocol: protocol(sp), NodePort: sp.NodePort}
			if np.NodePort == 0 {
				np.NodePort = kept(prev, np, name, p.ports)
			} else if holder := p.ports[np.NodePort]; holder != "" && holder != name {
				errs = append(errs, fmt.Sprintf("nodePort %d is already allocated to Service %s", np.NodePort, holder))
				np.NodePort = -1 // asked for, not given: not to be allocated either
			}
			if np.NodePort > 0 {
				p.ports[np.NodePort] = name
			}
			w.status.NodePorts = append(w.status.NodePorts, np)
		}
	}
	w.status.Error = joinErrs(errs)
	return w
}

// kept is the node port prev gave the port that np is, if name still holds it; else 0.
func kept(prev api.ServiceStatus, np api.ServiceNodePort, name string, ledger map[int32]string) int32 {
	for _, old := range prev.NodePorts {
		same := old.Protocol == np.Protocol && (old.Name == np.Name && np.Name != "" || np.Name == "" && old.Port == np.Port)
		if same && old.NodePort > 0 && ledger[old.NodePort] == name {
			return old.NodePort
		}
	}
	return 0
}

// allocate gives w a virtual IP and node ports from the pools where it needs them.
func (p *planner) allocate(name string, w *want) {
	var errs []string
	if w.status.Error != "" {
		errs = append(errs, w.status.Error)
	}
	if w.needIP {
		ip, err := p.pool.FirstFree(p.ips)
		if err != nil {
			errs = append(errs, err.Error())
		} else {
			p.ips[ip], w.status.ClusterIP = name, ip
		}
	}
	for i := range w.status.NodePorts {
		np := &w.status.NodePorts[i]
		if np.NodePort != 0 {
			continue
		}
		port, err := FirstFreeNodePort(p.ports)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		p.ports[port], np.NodePort = name, port
	}
	for i := range w.status.NodePorts {
		if w.status.NodePorts[i].NodePort < 0 {
			w.status.NodePorts[i].NodePort = 0
		}
	}
	w.status.Error = joinErrs(errs)
}

// change compares what name should hold (w nil: nothing, it is deleted) with what it holds.
func change(name string, w *want, st store.ServiceState) (Change, bool) {
	prev, hasPrev := st.Statuses[name]
	c := Change{Service: name, Rev: prev.ModRevision}
	wantIPs, wantPorts := map[string]bool{}, map[int32]bool{}
	if w != nil {
		c.Status = &w.status
		if ip := w.status.ClusterIP; ip != "" && ip != api.ClusterIPNone {
			wantIPs[ip] = true
		}
		for _, np := range w.status.NodePorts {
			if np.NodePort > 0 {
				wantPorts[np.NodePort] = true
			}
		}
	}
	for _, ip := range slices.Sorted(maps.Keys(wantIPs)) {
		if st.IPs[ip] != name {
			c.Take.IPs = append(c.Take.IPs, ip)
		}
	}
	for _, port := range slices.Sorted(maps.Keys(wantPorts)) {
		if st.NodePorts[port] != name {
			c.Take.NodePorts = append(c.Take.NodePorts, port)
		}
	}
	for _, ip := range slices.Sorted(maps.Keys(st.IPs)) {
		if st.IPs[ip] == name && !wantIPs[ip] {
			c.Release.IPs = append(c.Release.IPs, ip)
		}
	}
	for _, port := range slices.Sorted(maps.Keys(st.NodePorts)) {
		if st.NodePorts[port] == name && !wantPorts[port] {
			c.Release.NodePorts = append(c.Release.NodePorts, port)
		}
	}
	moved := len(c.Take.IPs)+len(c.Take.NodePorts)+len(c.Release.IPs)+len(c.Release.NodePorts) > 0
	same := hasPrev == (c.Status != nil) && (c.Status == nil || reflect.DeepEqual(*c.Status, prev.Value))
	return c, moved || !same
}

func protocol(p api.ServicePort) string {
	if p.Protocol == "" {
		return api.ProtocolTCP
	}
	return p.Protocol
}

func joinErrs(errs []string) string { return strings.Join(slices.Compact(errs), "; ") }
