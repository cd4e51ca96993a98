package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// serviceView is a Service as `get services` shows it, the stable shape of -o json: its spec
// with what the services controller allocated, and its endpoints flattened to one entry per
// Pod and Service port, as clients dial them.
type serviceView struct {
	Metadata api.ObjectMeta    `json:"metadata"`
	Spec     serviceViewSpec   `json:"spec"`
	Status   serviceViewStatus `json:"status"`
}

type serviceViewSpec struct {
	Type string `json:"type"`
	// ClusterIP is the allocated address ("" before the allocation; "None" when headless).
	ClusterIP string            `json:"clusterIP"`
	Selector  map[string]string `json:"selector"`
	// Ports are the spec's, with the allocated node ports.
	Ports []api.ServicePort `json:"ports"`
}

type serviceViewStatus struct {
	Endpoints []endpointView `json:"endpoints"`
	// record is the endpoints controller's record; nil before its first.
	record *api.Endpoints
}

// endpointView is one Pod behind one port of a Service.
type endpointView struct {
	IP string `json:"ip"`
	// Port is the Pod's port, and Name the Service port's name, if it has one.
	Port  int32  `json:"port"`
	Name  string `json:"name,omitempty"`
	Node  string `json:"node"`
	Ready bool   `json:"ready"`
	Pod   string `json:"pod"`
}

func getServices(ctx context.Context, s *store.Store, format string, w io.Writer) error {
	views, err := listServices(ctx, s)
	if err != nil {
		return err
	}
	health, err := recordedHealth(ctx, s)
	if err != nil {
		return err
	}
	header := "NAMESPACE\tNAME\tTYPE\tCLUSTER-IP\tPORT(S)\tENDPOINTS\tHEALTH"
	if format == "wide" {
		header += "\tSELECTOR\tENDPOINT-IPS"
	}
	return emit(w, format, views, header, func(v serviceView) string {
		state := "-"
		if o, ok := health[api.Key{Kind: api.KindService, Namespace: v.Metadata.Namespace, Name: v.Metadata.Name}]; ok {
			state = o.Health
		}
		r := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", v.Metadata.Namespace, v.Metadata.Name, v.Spec.Type,
			dash(v.Spec.ClusterIP), servicePorts(v.Spec.Ports), endpointCounts(v.Status), state)
		if format == "wide" {
			sel := (&api.ServiceSpec{Selector: v.Spec.Selector}).SelectorString()
			r += fmt.Sprintf("\t%s\t%s", dash(sel), endpointIPs(v.Status))
		}
		return r
	})
}

// listServices reads the desired Services, their allocations and endpoints records, sorted by
// namespace and name.
func listServices(ctx context.Context, s *store.Store) ([]serviceView, error) {
	desired, _, err := s.ListDesired(ctx)
	if err != nil {
		return nil, err
	}
	statuses, _, err := s.ListServiceStatuses(ctx)
	if err != nil {
		return nil, err
	}
	records, _, err := s.ListEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	status := make(map[string]api.ServiceStatus, len(statuses))
	for _, it := range statuses {
		status[it.Name] = it.Value
	}
	record := make(map[string]api.Endpoints, len(records))
	for _, it := range records {
		record[it.Name] = it.Value
	}
	var out []serviceView
	for _, d := range desired {
		if svc, ok := d.Object.(*api.Service); ok {
			name := svc.Metadata.Namespace + "/" + svc.Metadata.Name
			var ep *api.Endpoints
			if r, ok := record[name]; ok {
				ep = &r
			}
			out = append(out, viewService(svc, status[name], ep))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Metadata, out[j].Metadata
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return out, nil
}

// viewService is svc as shown, with its allocation st and its record ep (nil: none yet).
func viewService(svc *api.Service, st api.ServiceStatus, ep *api.Endpoints) serviceView {
	v := serviceView{Metadata: svc.Metadata, Spec: serviceViewSpec{Type: svc.Spec.ServiceType(), ClusterIP: st.ClusterIP,
		Selector: svc.Spec.Selector, Ports: make([]api.ServicePort, len(svc.Spec.Ports))},
		Status: serviceViewStatus{Endpoints: []endpointView{}, record: ep}}
	if v.Spec.Selector == nil {
		v.Spec.Selector = map[string]string{}
	}
	for i, p := range svc.Spec.Ports {
		if p.NodePort == 0 {
			p.NodePort = st.NodePortOf(p)
		}
		v.Spec.Ports[i] = p
	}
	if ep == nil {
		return v
	}
	for _, e := range ep.Endpoints {
		for i, port := range e.Ports {
			if port == 0 || i >= len(ep.Ports) {
				continue // the Pod has no port of that name: it gets no traffic there
			}
			v.Status.Endpoints = append(v.Status.Endpoints,
				endpointView{IP: e.IP, Port: port, Name: ep.Ports[i].Name, Node: e.Node, Ready: e.Ready, Pod: e.Pod})
		}
	}
	return v
}

// servicePorts renders ports as kubectl does: 80/TCP, 80:30080/TCP for a node port.
func servicePorts(ports []api.ServicePort) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprint(p.Port)
		if p.NodePort != 0 {
			parts[i] += fmt.Sprintf(":%d", p.NodePort)
		}
		parts[i] += "/" + cmp.Or(p.Protocol, api.ProtocolTCP)
	}
	return dash(strings.Join(parts, ","))
}

// endpointCounts is ready/total Pods of the record; "-" before the first record.
func endpointCounts(st serviceViewStatus) string {
	if st.record == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", st.record.ReadyCount(), len(st.record.Endpoints))
}

// endpointIPs lists the Pods' addresses, those not ready marked.
func endpointIPs(st serviceViewStatus) string {
	if st.record == nil {
		return "-"
	}
	out := make([]string, len(st.record.Endpoints))
	for i, e := range st.record.Endpoints {
		out[i] = e.IP
		if !e.Ready {
			out[i] += "(not-ready)"
		}
	}
	return dash(strings.Join(out, ","))
}
