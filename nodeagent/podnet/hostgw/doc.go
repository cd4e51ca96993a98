// Package hostgw joins the Pod networks of the nodes: it routes every other node's Pod range via
// that node's address (host-gateway routing, as flannel's host-gw does) and masquerades only the
// Pod traffic that leaves the cluster, so that Pods see each other's own addresses.
package hostgw
