// Package nodeagent runs the Pods bound to one node in containerd and reports their status.
package nodeagent
