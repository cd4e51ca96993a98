// Package metrics holds gitfleet's Prometheus collectors, registered on a registry its caller
// makes, with the names Argo CD's and Flux's users query, prefixed gitfleet_.
package metrics
