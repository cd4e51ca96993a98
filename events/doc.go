// Package events records what gitfleet's controllers did or saw (a commit applied, a Pod
// scheduled, a container restarted) in a bounded event log in etcd, off their hot paths.
package events
