// Package podnet owns the network of the Pods of one node: a network namespace per Pod under
// <data dir>/netns, attached through CNI (bridge, host-local, and portmap for hostPorts) to the
// node's bridge with an address from its Pod range and its hostPorts, and released again; it
// also finds the namespace hostNetwork Pods join. It knows Pods, not containers.
package podnet
