// Package reconciler makes etcd follow git: it fetches manifests with go-git, diffs them into a
// typed change set, applies and prunes it in one transaction, records the sync status, and runs
// the workload controller that turns Deployments and Pod manifests into Pod objects.
package reconciler
