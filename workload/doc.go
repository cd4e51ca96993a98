// Package workload is the workload controller: it turns desired Deployments and Pod manifests
// into Pod objects (replicas, rolling updates within maxSurge and maxUnavailable by template
// hash, ConfigMap data as part of the template) and records the health of every desired
// object, judged by package health.
//
// Keys it writes: /gitfleet/pods/<namespace>/<name> (create and delete; the scheduler binds),
// /gitfleet/replicasets/ (one record per template of a Deployment) and
// /gitfleet/health/<source>. It touches only Pods whose owner annotation names a Deployment or
// a Pod manifest.
package workload
