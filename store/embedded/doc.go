// Package embedded runs the etcd server that `gitfleet up` holds in-process: one member of the
// control plane's cluster, with TLS, peer URLs, joining as a learner and promotion.
package embedded
