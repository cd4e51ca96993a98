package api

import (
	"fmt"
	"net/netip"
)

// This file validates Services with the rules Kubernetes applies to types ClusterIP and
// NodePort. Whether an explicit clusterIP lies in the service CIDR is configuration, which
// Validate does not know: the services controller refuses an address outside it.

func (v *validator) serviceSpec(path string, s *ServiceSpec) {
	typ := s.ServiceType()
	switch typ {
	case ServiceTypeClusterIP, ServiceTypeNodePort:
	default:
		v.add(path+".type", "unsupported value %q: use ClusterIP or NodePort", s.Type)
	}
	v.labels(path+".selector", s.Selector)
	v.clusterIP(path+".clusterIP", s.ClusterIP, typ)
	if len(s.Ports) == 0 && s.ClusterIP != ClusterIPNone {
		v.add(path+".ports", "at least one port is required (only a headless Service, clusterIP: None, may have none)")
	}
	names := map[string]int{}
	ports := map[string]int{}
	nodePorts := map[string]int{}
	for i := range s.Ports {
		p := &s.Ports[i]
		pp := fmt.Sprintf("%s.ports[%d]", path, i)
		v.servicePort(pp, p, typ, len(s.Ports) > 1)
		if first, dup := names[p.Name]; dup && p.Name != "" {
			v.add(pp+".name", "duplicate port name %q; ports[%d] has it too", p.Name, first)
		} else {
			names[p.Name] = i
		}
		proto := p.Protocol
		if proto == "" {
			proto = ProtocolTCP
		}
		key := fmt.Sprintf("%d/%s", p.Port, proto)
		if first, dup := ports[key]; dup {
			v.add(pp+".port", "duplicate port %s; ports[%d] has it too", key, first)
		} else {
			ports[key] = i
		}
		if p.NodePort == 0 {
			continue
		}
		key = fmt.Sprintf("%d/%s", p.NodePort, proto)
		if first, dup := nodePorts[key]; dup {
			v.add(pp+".nodePort", "duplicate node port %s; ports[%d] has it too", key, first)
		} else {
			nodePorts[key] = i
		}
	}
}

// clusterIP checks the form of an explicit address; "" asks for one to be allocated.
func (v *validator) clusterIP(path, ip, typ string) {
	switch {
	case ip == "":
	case ip == ClusterIPNone:
		if typ == ServiceTypeNodePort {
			v.add(path, "may not be None when type is NodePort: a headless Service has no address to forward from")
		}
	default:
		if a, err := netip.ParseAddr(ip); err != nil || !a.Is4() || a.String() != ip {
			v.add(path, "invalid address %q: use an IPv4 address, None for a headless Service, or leave it out to have one allocated", ip)
		}
	}
}

// servicePort checks one port; several says the Service has more than one, which makes names
// required.
func (v *validator) servicePort(path string, p *ServicePort, typ string, several bool) {
	switch {
	case p.Name != "":
		v.check(path+".name", checkLabel(p.Name))
	case several:
		v.add(path+".name", "required when the Service has more than one port")
	}
	if p.Port < 1 || p.Port > 65535 {
		v.add(path+".port", "must be between 1 and 65535, not %d", p.Port)
	}
	switch p.Protocol {
	case "", ProtocolTCP, ProtocolUDP:
	default:
		v.add(path+".protocol", "unsupported value %q: use TCP or UDP", p.Protocol)
	}
	switch t := p.TargetPort; {
	case t.IsString:
		v.check(path+".targetPort", checkPortName(t.StrVal))
	case t.IntVal != 0 && (t.IntVal < 1 || t.IntVal > 65535):
		v.add(path+".targetPort", "must be between 1 and 65535, not %d", t.IntVal)
	}
	switch {
	case p.NodePort == 0:
	case typ != ServiceTypeNodePort:
		v.add(path+".nodePort", "may only be set when type is NodePort")
	case p.NodePort < MinNodePort || p.NodePort > MaxNodePort:
		v.add(path+".nodePort", "must be between %d and %d, not %d", MinNodePort, MaxNodePort, p.NodePort)
	}
}
