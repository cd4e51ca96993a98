// Package noderights keeps the rights of each node's agent to read ConfigMaps equal to the
// ConfigMaps its bound Pods use, and no more: a node reads only what it runs. It is a
// control-plane role, run under leader election with a client of etcd's root role (admin),
// since it changes etcd roles; it writes no key, only the ConfigMap grants of the roles
// node:<name> (store.SetNodeConfigMaps).
//
// It is level-triggered: a cache of the Pods, fed by a watch, wakes it; each pass computes
// every node's set and changes the roles of the nodes whose set moved since it last set them.
// At the start of a term, and every Resync, it sets every node's role again (a role already
// right is only read), which mends grants changed behind its back and brings the rights every
// node has (store's table) up to the running version's after an upgrade.
package noderights
