// Package nodeipam is the node IPAM controller of the control plane: it gives every registered
// node its own Pod range out of the cluster CIDR, never one range to two nodes, and takes the
// range back when the node is deleted. It writes /gitfleet/nodespecs/<node> (the Pod range)
// and the ledger /gitfleet/podcidrs/<range>.
package nodeipam
