// Package dns is the cluster DNS of one node: it answers for the Services' names under
// api.ClusterDomain from an immutable zone that each ServiceView Sync swaps in, and forwards
// every other name to the host's resolvers, on UDP and TCP at the node's Pod gateway address.
package dns
