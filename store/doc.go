// Package store is the only package that knows gitfleet's etcd keys: typed get, list, watch and
// compare-and-swap writes of objects; package embedded runs the etcd server `gitfleet up` holds.
//
// Key layout (one writer role per key):
//
//	/gitfleet/desired/<kind>/<namespace>/<name>   controller: objects applied from git
//	/gitfleet/sync/<source>                       controller: commit seen, applied, result, errors
//	/gitfleet/pods/<namespace>/<name>             workload controller (create, delete), scheduler (bind, evict)
//	/gitfleet/nodepods/<node>/<namespace>/<name>  with the Pod's own writes: the Pods bound to a node
//	/gitfleet/podstatus/<node>/<namespace>/<name> the agent of the Pod's node (only while bound there;
//	                                              deleted with the Pod); readers trust only the
//	                                              status under the Pod's node (BoundStatuses)
//	/gitfleet/nodes/<name>                        that node's agent: registration, status, conditions
//	/gitfleet/nodeleases/<name>                   that node's agent, under a lease: its heartbeat
//	/gitfleet/nodespecs/<name>                    node IPAM controller: the node's Pod range (cordon)
//	/gitfleet/podcidrs/<range>                    node IPAM controller: the ledger of assigned ranges
//	/gitfleet/servicestatus/<namespace>/<name>    services controller: a Service's virtual IP and node ports
//	/gitfleet/serviceips/<ip>                     services controller: the ledger of virtual IPs -> namespace/name
//	/gitfleet/nodeports/<port>                    services controller: the ledger of node ports -> namespace/name
//	/gitfleet/endpoints/<namespace>/<name>        endpoints controller: a Service as every node sees it
//	/gitfleet/nodesstatus/all                     scheduler: nodes Ready and why evictions pause
//	/gitfleet/leaders/<role>/<lease>              the candidates of a role's election (package leader)
//	/gitfleet/history/<source>/<id, zero-padded>  controller: one entry per sync attempt, the last 100
//	/gitfleet/historyseq/<source>                 controller: the last history ID
//	/gitfleet/health/<source>                     workload controller: health of every desired object
//	/gitfleet/replicasets/<namespace>/<deployment>/<template hash>
//	                                              workload controller: a Deployment's record of a
//	                                              template (revision, template, replicas wanted)
//	/gitfleet/pin/<source>                        gitfleet rollback (set), sync --resume (delete)
//	/gitfleet/syncrequest/<source>                push hook, webhook, sync, rollback: the latest request
//	/gitfleet/events/<source>/<namespace>/<kind>/<name>/<id>
//	                                              each source (controller, scheduler, node:<name>):
//	                                              its events about an object, the last 20, each
//	                                              under a lease of an hour ("-" for no namespace)
//	/gitfleet/tokens/<id>                         gitfleet token create: a join token's secret hash and
//	                                              expiry, under a lease (the join server reads it)
//
// The pin and the sync request are written together by RequestSync (package request).
//
// Rights (etcd auth, on a cluster whose etcd serves TLS with client certificates): etcd takes a
// client's user name from its certificate's CommonName. EnableAuth makes the users and roles
// below and turns auth on; EnsureNodeUser makes a node's and DeleteNodeUser removes it;
// SetNodeConfigMaps (package noderights) keeps each node's ConfigMap reads. "All" means every
// key under /gitfleet/ but the tokens.
//
//	root, admin   etcd's root role: everything (admin: the CLI's writes, the join server, noderights)
//	controller    reads all; writes desired/, sync/, history/, historyseq/, health/, replicasets/, pods/,
//	              nodepods/, podstatus/ (deleting a Pod), nodespecs/, podcidrs/, servicestatus/,
//	              serviceips/, nodeports/, syncrequest/ (its webhook) and its candidates in
//	              leaders/{controller,workloads,nodeipam,services}/
//	scheduler     reads all; writes pods/, nodepods/, podstatus/ (evicting a Pod), nodesstatus/,
//	              events/scheduler/ and its candidates in leaders/scheduler/
//	viewer        reads all; writes nothing (the CLI's reads)
//	node:<name>   reads nodes/, nodespecs/, nodeleases/, nodepods/<name>/, desired/Namespace/,
//	              servicestatus/, the revision probe and the desired ConfigMaps its Pods use; writes
//	              nodes/<name>, nodeleases/<name> and podstatus/<name>/; reads and writes
//	              events/node:<name>/
//
// A write needs no read right, but a transaction's compare does, and so does a watch; a put
// under a lease, a keep-alive and a revoke need the right to write every key of the lease.
//
// Values are the JSON of the api types. Every write that depends on a read compares the key's
// ModRevision, so a stale writer fails with ErrConflict instead of overwriting newer state.
package store
