// Package request is the one protocol by which users ask the controller of a source for a pass
// (the push hook, the webhook, gitfleet sync and gitfleet rollback) and wait for its answer and
// for the health of what it applied. It writes /gitfleet/syncrequest/<source> and, for a
// rollback or a resume, /gitfleet/pin/<source>, through the store; it reads the sync status and
// the health record by watching them.
package request
