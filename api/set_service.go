package api

import (
	"fmt"
	"strconv"
)

// serviceClaim is the first Service to claim an address or a node port in a repository.
type serviceClaim struct {
	d     Decoded
	field string
}

// checkServiceClaims refuses two Services that claim one explicit clusterIP, or one node port:
// only one of them could get it. The error sits on the later claim and names the first.
func checkServiceClaims(all []Decoded) []FieldError {
	ips := map[string]serviceClaim{}
	nodePorts := map[int32]serviceClaim{}
	var errs []FieldError
	claim := func(d Decoded, field, what string, first serviceClaim, taken bool) bool {
		if !taken {
			return false
		}
		k := setKey(first.d)
		errs = append(errs, d.errorAt(field, "%s is already used by Service %s/%s at %s:%d",
			what, k.Namespace, k.Name, first.d.File, first.d.LineOf(first.field)))
		return true
	}
	for _, d := range all {
		s, ok := d.Object.(*Service)
		if !ok {
			continue
		}
		if ip := s.Spec.ClusterIP; ip != "" && ip != ClusterIPNone {
			first, taken := ips[ip]
			if !claim(d, "spec.clusterIP", "clusterIP "+ip, first, taken) {
				ips[ip] = serviceClaim{d, "spec.clusterIP"}
			}
		}
		// One Service may serve TCP and UDP on one node port; Validate checks within one.
		mine := map[int32]bool{}
		for i, p := range s.Spec.Ports {
			if p.NodePort == 0 || mine[p.NodePort] {
				continue
			}
			mine[p.NodePort] = true
			field := fmt.Sprintf("spec.ports[%d].nodePort", i)
			first, taken := nodePorts[p.NodePort]
			if !claim(d, field, "nodePort "+strconv.Itoa(int(p.NodePort)), first, taken) {
				nodePorts[p.NodePort] = serviceClaim{d, field}
			}
		}
	}
	return errs
}
