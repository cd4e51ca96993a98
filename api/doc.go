// Package api holds gitfleet's object types, a Kubernetes-shaped subset, with strict decoding,
// defaulting and validation that report file, line and field; it does no I/O.
package api
