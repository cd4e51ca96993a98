// Package nodeagent is the agent of one node: it registers the node and keeps its lease alive,
// watches the Pods bound to it, plans the steps that make what runs match them (Plan, pure),
// takes them through the Runtime it declares, and reports each Pod's status; through the Routes
// it declares it keeps the routes to every other node's Pods in step with the node list. In
// etcd it writes only its node object, under a lease, and the status of the Pods bound to it.
package nodeagent
