// Package health judges the health of desired objects from the Pods that run for them, as Argo
// CD does (Healthy, Progressing, Degraded, Missing), and applies the degraded grace and the
// progress deadline over time. It is pure: no I/O, no clock; the workload controller records
// what it decides.
package health
