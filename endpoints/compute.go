package endpoints

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/gitfleet/gitfleet/api"
)

// Compute returns the record every Service of services ("namespace/name" -> Service) should
// have, by the same name. A Service whose stored value does not decode (nil) maps to nil: its
// record is left as it is until the sync controller repairs it, so that traffic is not cut
// meanwhile. statuses are the services controller's allocations, copied in (ClusterIP "" and
// no node ports while there is none). pods are the Pods with their observed status merged
// (store.MergeStatuses), so that a Pod on a node that is not Ready is not ready. Compute is
// pure.
func Compute(services map[string]*api.Service, statuses map[string]api.ServiceStatus, pods []api.Pod) map[string]*api.Endpoints {
	byNamespace := map[string][]*api.Pod{}
	for i := range pods {
		p := &pods[i]
		byNamespace[p.Metadata.Namespace] = append(byNamespace[p.Metadata.Namespace], p)
	}
	out := make(map[string]*api.Endpoints, len(services))
	for name, svc := range services {
		if svc == nil {
			out[name] = nil
			continue
		}
		out[name] = record(svc, statuses[name], byNamespace[svc.Metadata.Namespace])
	}
	return out
}

// record is svc's record, its endpoints picked from pods (of its namespace).
func record(svc *api.Service, status api.ServiceStatus, pods []*api.Pod) *api.Endpoints {
	ep := &api.Endpoints{Namespace: svc.Metadata.Namespace, Name: svc.Metadata.Name, ClusterIP: status.ClusterIP}
	for _, sp := range svc.Spec.Ports {
		ep.Ports = append(ep.Ports, api.EndpointsPort{Name: sp.Name, Protocol: protocol(sp.Protocol), Port: sp.Port,
			NodePort: status.NodePortOf(sp)})
	}
	for _, p := range pods {
		if !svc.Selects(p) || p.Status.PodIP == "" {
			continue
		}
		e := api.Endpoint{IP: p.Status.PodIP, Node: p.Spec.NodeName, Pod: p.Metadata.Name, Ready: p.Status.IsReady()}
		for _, sp := range svc.Spec.Ports {
			e.Ports = append(e.Ports, targetPort(sp, p))
		}
		ep.Endpoints = append(ep.Endpoints, e)
	}
	slices.SortFunc(ep.Endpoints, func(a, b api.Endpoint) int { return cmp.Or(compareIPs(a.IP, b.IP), cmp.Compare(a.Pod, b.Pod)) })
	return ep
}

// targetPort is the number of p's port that sp forwards to: the number sp names (its own port
// when unset), or the container port named so with sp's protocol; 0 when p has none.
func targetPort(sp api.ServicePort, p *api.Pod) int32 {
	t := sp.TargetPort
	switch {
	case t.IsZero():
		return sp.Port
	case !t.IsString:
		return t.IntVal
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == t.StrVal && protocol(cp.Protocol) == protocol(sp.Protocol) {
				return cp.ContainerPort
			}
		}
	}
	return 0
}

func protocol(p string) string {
	if p == "" {
		return api.ProtocolTCP
	}
	return p
}

// compareIPs orders addresses numerically (10.0.0.9 before 10.0.0.10); a value that is not an
// address sorts after every address, as text.
func compareIPs(a, b string) int {
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	switch {
	case errX == nil && errY == nil:
		return x.Compare(y)
	case errX == nil:
		return -1
	case errY == nil:
		return 1
	}
	return cmp.Compare(a, b)
}
