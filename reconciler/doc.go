// Package reconciler is the sync controller: it makes the desired objects in etcd follow one git
// source. Each pass loads the commit to apply (the branch head, or a rollback's pin) through a
// Repo (package source), validates it whole, diffs it against etcd into a typed ChangeSet,
// refuses a mass prune unless allowed, and applies the change set with the sync status and a
// history entry in one transaction; drift is reverted, or only reported without self-heal.
//
// Keys it writes: /gitfleet/desired/<kind>/<namespace>/<name>, /gitfleet/sync/<source>,
// /gitfleet/history/<source>/<id> and /gitfleet/historyseq/<source>. It reads the pin and the
// sync request (package request) and answers the latest request in the status.
package reconciler
