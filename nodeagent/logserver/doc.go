// Package logserver serves a node's container logs over HTTP(S) to the nodes' clients, as the
// kubelet does: the log of a container, its tail, its previous attempt, and a stream of what it
// writes next, to certificates of the cluster CA whose identity may read logs.
package logserver
