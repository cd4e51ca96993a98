// Package dashboard serves gitfleet's web page: the source, the objects and their Pods, the
// diffs, history and nodes, kept live by one shared set of etcd watches streamed to every browser
// as server-sent events, with sync and rollback buttons behind a token login, roles and CSRF
// tokens.
package dashboard
