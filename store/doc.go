// Package store is the only package that knows gitfleet's etcd keys: typed get, list, watch and
// compare-and-swap writes of objects, plus the embedded etcd server that `gitfleet up` runs.
//
// Key layout (one writer role per key):
//
//	/gitfleet/desired/<kind>/<namespace>/<name>   controller: objects applied from git
//	/gitfleet/sync/<source>                       controller: commit seen, applied, result, errors
//	/gitfleet/pods/<namespace>/<name>             workload controller (create, delete), scheduler (bind, evict)
//	/gitfleet/nodepods/<node>/<namespace>/<name>  with the Pod's own writes: the Pods bound to a node
//	/gitfleet/podstatus/<node>/<namespace>/<name> the agent of the Pod's node (only while bound there);
//	                                              readers trust only the status under the Pod's node
//	/gitfleet/nodes/<name>                        that node's agent: registration, status, conditions
//	/gitfleet/nodeleases/<name>                   that node's agent, under a lease: its heartbeat
//	/gitfleet/nodespecs/<name>                    node IPAM controller: the node's Pod range (cordon)
//	/gitfleet/podcidrs/<range>                    node IPAM controller: the ledger of assigned ranges
//	/gitfleet/nodesstatus/all                     scheduler: nodes Ready and why evictions pause
//	/gitfleet/leaders/<role>/<lease>              the candidates of a role's election (package leader)
//	/gitfleet/history/<source>/<id, zero-padded>  controller: one entry per sync attempt, the last 100
//	/gitfleet/historyseq/<source>                 controller: the last history ID
//	/gitfleet/health/<source>                     workload controller: health of every desired object
//	/gitfleet/pin/<source>                        gitfleet rollback (set), sync --resume (delete)
//	/gitfleet/syncrequest/<source>                push hook, webhook, sync, rollback: the latest request
//	/gitfleet/tokens/<id>                         gitfleet token create: a join token's secret hash and
//	                                              expiry, under a lease (the join server reads it)
//
// The pin and the sync request are written together by RequestSync (package request).
//
// Values are the JSON of the api types. Every write that depends on a read compares the key's
// ModRevision, so a stale writer fails with ErrConflict instead of overwriting newer state.
package store
