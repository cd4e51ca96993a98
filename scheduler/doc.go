// Package scheduler binds unscheduled Pods to nodes: filter, score, compare-and-swap bind.
package scheduler
