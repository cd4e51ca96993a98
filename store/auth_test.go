package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/internal/fixture"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// authCluster is an etcd with TLS and auth enabled, the objects the tests read and write, and
// a store connected as each identity.
type authCluster struct {
	srv                           etcdtest.TLSServer
	admin, nodeA, nodeB           *store.Store
	viewer, scheduler, controller *store.Store
	cm1, cm2, deploy              api.Key
	podA, podB                    api.Pod // bound to a and to b
	tokenID                       string
	leaseA                        store.LeaseID // granted by node a
}

// startAuthCluster enables auth (twice: it is idempotent), makes the users of nodes a and b,
// and writes, as admin, two ConfigMaps, a Namespace, a Deployment, a Pod bound to each node and
// a join token.
func startAuthCluster(t *testing.T) *authCluster {
	t.Helper()
	ctx := t.Context()
	admin, srv := etcdtest.StartTLS(t)
	for range 2 {
		if err := admin.EnableAuth(ctx); err != nil {
			t.Fatalf("enable auth: %v", err)
		}
	}
	for _, n := range []string{"a", "b"} {
		if err := admin.EnsureNodeUser(ctx, n); err != nil {
			t.Fatalf("node user %s: %v", n, err)
		}
	}
	c := &authCluster{srv: srv, admin: admin,
		nodeA: srv.ConnectAs(t, store.NodeUser("a")), nodeB: srv.ConnectAs(t, store.NodeUser("b")),
		viewer: srv.ConnectAs(t, store.UserViewer), scheduler: srv.ConnectAs(t, store.UserScheduler),
		controller: srv.ConnectAs(t, store.UserController), tokenID: "abcdef"}
	cm1, cm2 := fixture.ConfigMap("default", "cm1", map[string]string{"k": "1"}), fixture.ConfigMap("default", "cm2", nil)
	deploy := fixture.Deployment("web", 1, "busybox")
	c.cm1, c.cm2, c.deploy = api.KeyOf(cm1), api.KeyOf(cm2), api.KeyOf(deploy)
	var writes []store.Write
	for _, o := range []api.Object{cm1, cm2, deploy, fixture.Namespace("default")} {
		writes = append(writes, store.Write{Key: api.KeyOf(o), Object: o})
	}
	if _, err := admin.CommitSync(ctx, store.SyncRecord{Writes: writes, Status: api.SyncStatus{Source: "test"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		p := fixture.Pod("on-"+n, "busybox")
		p.Spec.NodeName = n
		if err := admin.CreatePod(ctx, p); err != nil {
			t.Fatal(err)
		}
		if n == "a" {
			c.podA = *p
		} else {
			c.podB = *p
		}
	}
	tok := store.JoinToken{ID: c.tokenID, SecretHash: "sha256:00", Created: time.Now(), Expires: time.Now().Add(time.Hour)}
	if err := admin.CreateJoinToken(ctx, tok, time.Hour); err != nil {
		t.Fatal(err)
	}
	var err error
	if c.leaseA, err = c.nodeA.GrantLease(ctx, 10*time.Second); err != nil {
		t.Fatalf("node a grants a lease: %v", err)
	}
	return c
}

// check is one request of one identity and whether etcd must let it through.
type check struct {
	what  string
	do    func(ctx context.Context) error
	allow bool
}

// run applies checks: an allowed request must succeed, a refused one fail with etcd's
// permission denied.
func runChecks(t *testing.T, who string, checks []check) {
	t.Helper()
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := c.do(ctx)
		cancel()
		switch {
		case c.allow && err != nil:
			t.Errorf("%s: %s: %v", who, c.what, err)
		case !c.allow && !errors.Is(err, store.ErrPermissionDenied):
			t.Errorf("%s: %s: got %v, want permission denied", who, c.what, err)
		}
	}
}

// put writes value at the key of name under r with the raw client, as a rogue client of st's
// identity could.
func rawPut(st *store.Store, r store.Resource, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := st.Client().Put(ctx, store.Key(r, name), "{}")
		return err
	}
}

// get reads the keys below the key of name under r with the raw client.
func rawGet(st *store.Store, r store.Resource, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := st.Client().Get(ctx, store.Key(r, name), clientv3.WithPrefix())
		return err
	}
}

// watchErr opens a watch of the keys below the key of name under r and returns its refusal,
// or nil when it is still open after a moment.
func watchErr(st *store.Store, r store.Resource, name string) func(context.Context) error {
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(ctx), time.Second)
		defer cancel()
		for resp := range st.Client().Watch(ctx, store.Key(r, name), clientv3.WithPrefix()) {
			if err := resp.Err(); err != nil {
				// etcd puts gRPC's text of its refusal in the cancel reason, which the
				// client does not turn back into rpctypes' error.
				if strings.Contains(err.Error(), store.ErrPermissionDenied.Error()) {
					return fmt.Errorf("%v: %w", err, store.ErrPermissionDenied)
				}
				return err
			}
		}
		return nil
	}
}

// errOf and err2 drop the values of a call.
// recordEvent records an event of source about a Pod, under a lease of its own.
func recordEvent(st *store.Store, source string) func(context.Context) error {
	return func(ctx context.Context) error {
		lease, err := st.GrantLease(ctx, time.Minute)
		if err != nil {
			return err
		}
		e := api.Event{Type: api.EventNormal, Reason: api.ReasonStarted, Source: source, Count: 1,
			Object: api.Key{Kind: api.KindPod, Namespace: "default", Name: "on-a"}, FirstTime: time.Now(), LastTime: time.Now()}
		return st.RecordEvents(ctx, source, lease, []api.Event{e}, 20)
	}
}

func errOf[A, B any](_ A, _ B, err error) error { return err }

func err2[A any](_ A, err error) error { return err }

func (c *authCluster) commit(st *store.Store) func(context.Context) error {
	return func(ctx context.Context) error {
		d := fixture.Deployment("other", 1, "busybox")
		_, err := st.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(d), Object: d}},
			Status: api.SyncStatus{Source: "test"}})
		return err
	}
}

func (c *authCluster) readToken(st *store.Store) func(context.Context) error {
	return func(ctx context.Context) error { return err2(st.JoinToken(ctx, c.tokenID)) }
}

func getDesired(st *store.Store, k api.Key) func(context.Context) error {
	return func(ctx context.Context) error { return err2(st.GetDesired(ctx, k)) }
}

// TestAuthNode: a node writes its own record, heartbeat and the statuses of its Pods, reads
// every node, its Pods and the Namespaces, and nothing else: not another node's keys, not the
// desired objects but those granted, not the tokens.
func TestAuthNode(t *testing.T) {
	c := startAuthCluster(t)
	a := c.nodeA
	runningA := func(ctx context.Context) error {
		return a.PutPodStatus(ctx, "a", "default", "on-a", 0, api.PodStatus{Phase: api.PodRunning})
	}
	runChecks(t, "node a", []check{
		{"register itself", func(ctx context.Context) error {
			return a.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: "a"}, Status: api.NodeStatus{HostID: "host-a"}})
		}, true},
		{"heartbeat", func(ctx context.Context) error { return a.PutNodeLease(ctx, "a", c.leaseA) }, true},
		{"keep its lease alive", func(ctx context.Context) error {
			_, err := a.Client().KeepAliveOnce(ctx, c.leaseA)
			return err
		}, true},
		{"write the status of its pod", runningA, true},
		{"list its pods", func(ctx context.Context) error { return errOf(a.ListNodePods(ctx, "a")) }, true},
		{"watch its pods", watchErr(a, store.NodePods, "a/"), true},
		{"list nodes", func(ctx context.Context) error { return errOf(a.ListNodes(ctx)) }, true},
		{"watch nodes", watchErr(a, store.Nodes, ""), true},
		{"watch node specs", watchErr(a, store.NodeSpecs, ""), true},
		{"read its spec", func(ctx context.Context) error { return errOf(a.GetNodeSpec(ctx, "a")) }, true},
		{"read the revision", func(ctx context.Context) error { return err2(a.Revision(ctx)) }, true},
		{"read a namespace", getDesired(a, api.Key{Kind: api.KindNamespace, Name: "default"}), true},
		{"watch the services' allocations", watchErr(a, store.ServiceStatus, ""), true},
		{"list members", func(ctx context.Context) error { return err2(a.Client().MemberList(ctx)) }, true},
		{"read the server status", func(ctx context.Context) error {
			return err2(a.Client().Status(ctx, c.srv.Endpoints[0]))
		}, true},

		{"record its events", recordEvent(a, api.EventSourceNode("a")), true},

		{"register node b", func(ctx context.Context) error {
			return a.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: "b"}})
		}, false},
		{"record b's events", recordEvent(a, api.EventSourceNode("b")), false},
		{"record the scheduler's events", recordEvent(a, api.EventSourceScheduler), false},
		{"heartbeat for b", func(ctx context.Context) error { return a.PutNodeLease(ctx, "b", c.leaseA) }, false},
		{"write a status of b's pod", func(ctx context.Context) error {
			return a.PutPodStatus(ctx, "b", "default", "on-b", 0, api.PodStatus{Phase: api.PodFailed})
		}, false},
		{"write a status under b by hand", rawPut(a, store.PodStatus, "b/default/on-b"), false},
		{"bind a pod to b", rawPut(a, store.NodePods, "b/default/x"), false},
		{"bind a pod to itself", rawPut(a, store.NodePods, "a/default/x"), false},
		{"write a pod", rawPut(a, store.Pods, "default/x"), false},
		{"write a desired object", rawPut(a, store.Desired, c.deploy.String()), false},
		{"commit", c.commit(a), false},
		{"write a token", rawPut(a, store.Tokens, "x"), false},
		{"write its spec", rawPut(a, store.NodeSpecs, "a"), false},
		{"write a service's allocation", rawPut(a, store.ServiceStatus, "default/x"), false},
		{"take a node port", rawPut(a, store.NodePorts, "30001"), false},
		{"list b's pods", func(ctx context.Context) error { return errOf(a.ListNodePods(ctx, "b")) }, false},
		{"watch b's pods", watchErr(a, store.NodePods, "b/"), false},
		{"list all pods", func(ctx context.Context) error { return errOf(a.ListPods(ctx)) }, false},
		{"list statuses", func(ctx context.Context) error { return errOf(a.ListPodStatuses(ctx)) }, false},
		{"read a token", c.readToken(a), false},
		{"list tokens", rawGet(a, store.Tokens, ""), false},
		{"read a deployment", getDesired(a, c.deploy), false},
		{"list desired objects", func(ctx context.Context) error { return errOf(a.ListDesired(ctx)) }, false},
		{"read a configmap not granted", getDesired(a, c.cm1), false},
	})
}

// TestAuthNodeConfigMaps: a node reads exactly the ConfigMaps SetNodeConfigMaps grants it; a
// grant of one node is not another's, and EnsureNodeUser keeps the grants.
func TestAuthNodeConfigMaps(t *testing.T) {
	c := startAuthCluster(t)
	ctx := t.Context()
	reads := func(cm1, cm2 bool) []check {
		return []check{{"read cm1", getDesired(c.nodeA, c.cm1), cm1}, {"read cm2", getDesired(c.nodeA, c.cm2), cm2}}
	}
	steps := []struct {
		name     string
		set      []api.Key
		cm1, cm2 bool
	}{
		{"cm1", []api.Key{c.cm1}, true, false},
		{"cm2", []api.Key{c.cm2}, false, true},
		{"both, twice", []api.Key{c.cm1, c.cm2, c.cm1}, true, true},
		{"none", nil, false, false},
	}
	for _, s := range steps {
		if err := c.admin.SetNodeConfigMaps(ctx, "a", s.set); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		runChecks(t, "node a with "+s.name, reads(s.cm1, s.cm2))
		runChecks(t, "node b", []check{{"read cm1", getDesired(c.nodeB, c.cm1), false}})
	}
	if err := c.admin.SetNodeConfigMaps(ctx, "a", []api.Key{c.cm2}); err != nil {
		t.Fatal(err)
	}
	if err := c.admin.EnsureNodeUser(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	runChecks(t, "node a after EnsureNodeUser", reads(false, true))
	// A ConfigMap granted before it exists reads as missing, not refused.
	late := api.Key{Kind: api.KindConfigMap, Namespace: "default", Name: "late"}
	if err := c.admin.SetNodeConfigMaps(ctx, "a", []api.Key{late}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.nodeA.GetDesired(ctx, late); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("read a granted configmap that does not exist: %v, want not found", err)
	}
	for _, bad := range [][]api.Key{{c.deploy}, {{Kind: api.KindConfigMap, Namespace: "default", Name: "a/b"}}} {
		if err := c.admin.SetNodeConfigMaps(ctx, "a", bad); err == nil {
			t.Errorf("granted %v", bad)
		}
	}
	if err := c.admin.SetNodeConfigMaps(ctx, "x/y", nil); err == nil {
		t.Error("a node name with a slash was accepted")
	}
	deposed := c.admin.Fenced(store.Fence{Key: store.LeaderPrefix(store.ElectionNodeRights) + "/gone", Rev: 1})
	if err := deposed.SetNodeConfigMaps(ctx, "a", nil); !errors.Is(err, store.ErrNotLeader) {
		t.Errorf("a deposed leader set rights: %v", err)
	}
	// A node whose role does not exist yet gets one, ready for when it joins.
	if err := c.admin.SetNodeConfigMaps(ctx, "c", []api.Key{c.cm1}); err != nil {
		t.Fatal(err)
	}
	if err := c.admin.EnsureNodeUser(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	runChecks(t, "node c", []check{{"read cm1", getDesired(c.srv.ConnectAs(t, store.NodeUser("c")), c.cm1), true}})
	if nodes, err := c.admin.NodeRoles(ctx); err != nil || fmt.Sprint(nodes) != "[a b c]" {
		t.Errorf("node roles %v, %v", nodes, err)
	}
	// A node deleted for good: its certificate opens nothing any more.
	for range 2 {
		if err := c.admin.DeleteNodeUser(ctx, "b"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.nodeB.ListNodes(ctx); !errors.Is(err, store.ErrPermissionDenied) {
		t.Errorf("deleted node b lists nodes: %v", err)
	}
	// noderights takes b's grants back as its Pods go: that gives it no role again.
	if err := c.admin.SetNodeConfigMaps(ctx, "b", nil); err != nil {
		t.Fatal(err)
	}
	if nodes, err := c.admin.NodeRoles(ctx); err != nil || fmt.Sprint(nodes) != "[a c]" {
		t.Errorf("node roles after deleting b: %v, %v", nodes, err)
	}
}

// TestAuthViewer: the viewer reads all but the tokens and writes nothing.
func TestAuthViewer(t *testing.T) {
	c := startAuthCluster(t)
	v := c.viewer
	runChecks(t, "viewer", []check{
		{"list pods with status", func(ctx context.Context) error { return err2(v.ListPodsWithStatus(ctx)) }, true},
		{"list desired", func(ctx context.Context) error { return errOf(v.ListDesired(ctx)) }, true},
		{"list nodes", func(ctx context.Context) error { return errOf(v.ListNodes(ctx)) }, true},
		{"read the sync status", func(ctx context.Context) error { return err2(v.GetSync(ctx, "test")) }, true},
		{"list history", func(ctx context.Context) error { return err2(v.ListHistory(ctx, "test")) }, true},
		{"watch pods", watchErr(v, store.Pods, ""), true},
		{"read the revision", func(ctx context.Context) error { return err2(v.Revision(ctx)) }, true},
		{"list members", func(ctx context.Context) error { return err2(v.Client().MemberList(ctx)) }, true},
		{"list the services' allocations", func(ctx context.Context) error { return err2(v.ListServiceState(ctx)) }, true},

		{"read a token", c.readToken(v), false},
		{"list tokens", rawGet(v, store.Tokens, ""), false},
		{"watch tokens", watchErr(v, store.Tokens, ""), false},
		{"read everything at once", func(ctx context.Context) error {
			return err2(v.Client().Get(ctx, "/gitfleet/", clientv3.WithPrefix()))
		}, false},
		{"create a pod", func(ctx context.Context) error { return v.CreatePod(ctx, fixture.Pod("x", "busybox")) }, false},
		{"commit", c.commit(v), false},
		{"request a sync", func(ctx context.Context) error {
			return err2(v.RequestSync(ctx, "test", api.SyncRequest{ID: "1"}, store.PinChange{}))
		}, false},
		{"record the nodes", func(ctx context.Context) error { return v.PutNodesStatus(ctx, api.NodesStatus{}) }, false},
		{"write a node", rawPut(v, store.Nodes, "a"), false},
		{"write a status", rawPut(v, store.PodStatus, "a/default/on-a"), false},
		{"take a service ip", rawPut(v, store.ServiceIPs, "10.96.0.1"), false},
	})
}

// TestAuthScheduler: the scheduler binds, evicts and records the nodes, and writes nothing of
// the desired state or the nodes'.
func TestAuthScheduler(t *testing.T) {
	c := startAuthCluster(t)
	s, ctx := c.scheduler, t.Context()
	if err := c.admin.CreatePod(ctx, fixture.Pod("pending", "busybox")); err != nil {
		t.Fatal(err)
	}
	if err := c.admin.PutPodStatus(ctx, "b", "default", "on-b", 0, api.PodStatus{Phase: api.PodRunning}); err != nil {
		t.Fatal(err)
	}
	runChecks(t, "scheduler", []check{
		{"list pods and nodes", func(ctx context.Context) error {
			if _, _, err := s.ListRaw(ctx, store.Pods); err != nil {
				return err
			}
			return errOf(s.ListNodes(ctx))
		}, true},
		{"bind", func(ctx context.Context) error {
			p, rev, err := s.GetPod(ctx, "default", "pending")
			if err != nil {
				return err
			}
			return s.BindPod(ctx, p, rev, "a")
		}, true},
		{"record why a pod waits", func(ctx context.Context) error {
			p, rev, err := s.GetPod(ctx, "default", "pending")
			if err != nil {
				return err
			}
			p.Status.Reason = api.ReasonUnschedulable
			return s.UpdatePod(ctx, &p, rev)
		}, true},
		{"evict a pod of a lost node", func(ctx context.Context) error { return s.DeletePod(ctx, "default", "on-b", 0) }, true},
		{"record the nodes", func(ctx context.Context) error { return s.PutNodesStatus(ctx, api.NodesStatus{Total: 2}) }, true},

		{"commit", c.commit(s), false},
		{"write a desired object", rawPut(s, store.Desired, c.deploy.String()), false},
		{"write a node", func(ctx context.Context) error {
			return s.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: "a"}})
		}, false},
		{"assign a pod range", func(ctx context.Context) error {
			return s.AssignPodCIDR(ctx, "a", "10.244.9.0/24", api.NodeSpec{}, 0)
		}, false},
		{"read a token", c.readToken(s), false},
		{"write health", func(ctx context.Context) error { return s.PutHealth(ctx, api.HealthStatus{Source: "test"}) }, false},
		{"record a template", func(ctx context.Context) error {
			return err2(s.PutReplicaSet(ctx, &api.ReplicaSet{Namespace: "default", Deployment: "web", TemplateHash: "abc"}, 0))
		}, false},
		{"campaign in the controller's election", rawPut(s, store.Leaders, store.ElectionController+"/x"), false},
		{"record its events", recordEvent(s, api.EventSourceScheduler), true},
		{"record the controller's events", recordEvent(s, api.EventSourceController), false},
	})
	if sts, _, err := c.admin.ListPodStatuses(ctx); err != nil || len(sts) != 0 {
		t.Errorf("the eviction left statuses %v (%v)", sts, err)
	}
}

// TestAuthController: the controllers commit, make and delete Pods, record health, assign Pod
// ranges and answer the webhook, and touch neither the nodes' keys nor the tokens.
func TestAuthController(t *testing.T) {
	c := startAuthCluster(t)
	ctl := c.controller
	if err := c.admin.PutNode(t.Context(), &api.Node{Metadata: api.ObjectMeta{Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	runChecks(t, "controller", []check{
		{"commit", c.commit(ctl), true},
		{"record its events", recordEvent(ctl, api.EventSourceController), true},
		{"record a node's events", recordEvent(ctl, api.EventSourceNode("a")), false},
		{"read what it diffs against", func(ctx context.Context) error {
			if _, err := ctl.GetControl(ctx, "test"); err != nil {
				return err
			}
			keys, rev, err := ctl.DesiredRevisions(ctx)
			if err != nil {
				return err
			}
			return err2(ctl.ListDesiredRawBetween(ctx, keys[0].Key, keys[len(keys)-1].Key, rev))
		}, true},
		{"create a pod", func(ctx context.Context) error { return ctl.CreatePod(ctx, fixture.Pod("made", "busybox")) }, true},
		{"delete a bound pod", func(ctx context.Context) error { return ctl.DeletePod(ctx, "default", "on-a", 0) }, true},
		{"list statuses", func(ctx context.Context) error { return errOf(ctl.ListPodStatuses(ctx)) }, true},
		{"record health", func(ctx context.Context) error { return ctl.PutHealth(ctx, api.HealthStatus{Source: "test"}) }, true},
		{"record and prune a template", func(ctx context.Context) error {
			rs := &api.ReplicaSet{Namespace: "default", Deployment: "web", TemplateHash: "abc", Revision: 1}
			if _, err := ctl.PutReplicaSet(ctx, rs, 0); err != nil {
				return err
			}
			items, _, err := ctl.ListReplicaSets(ctx)
			if err != nil || len(items) != 1 {
				return fmt.Errorf("list = %v, %w", items, err)
			}
			return ctl.DeleteReplicaSet(ctx, rs, items[0].ModRevision)
		}, true},
		{"assign and release a pod range", func(ctx context.Context) error {
			spec, rev, err := ctl.GetNodeSpec(ctx, "a")
			if err != nil {
				return err
			}
			if err := ctl.AssignPodCIDR(ctx, "a", "10.244.9.0/24", spec, rev); err != nil {
				return err
			}
			if _, _, err := ctl.ListPodCIDRs(ctx); err != nil {
				return err
			}
			return ctl.ReleasePodCIDR(ctx, "10.244.9.0/24", "a")
		}, true},
		{"request a sync (the webhook)", func(ctx context.Context) error {
			return err2(ctl.RequestSync(ctx, "test", api.SyncRequest{ID: "1"}, store.PinChange{}))
		}, true},
		{"pin and unpin a commit (an automatic rollback and its resume)", func(ctx context.Context) error {
			if err := ctl.SetPin(ctx, "test", api.Pin{Commit: "abc", From: "def"}, 0); err != nil {
				return err
			}
			c, err := ctl.GetControl(ctx, "test")
			if err != nil || c.Pin == nil {
				return fmt.Errorf("control = %+v, %w", c, err)
			}
			return ctl.RemovePin(ctx, "test", c.Pin.Revision)
		}, true},
		{"allocate and free a service's addresses", func(ctx context.Context) error {
			claims := store.ServiceClaims{IPs: []string{"10.96.0.9"}, NodePorts: []int32{30009}}
			if err := ctl.CommitServiceStatus(ctx, "default/web", &api.ServiceStatus{ClusterIP: "10.96.0.9"}, 0, claims, store.ServiceClaims{}); err != nil {
				return err
			}
			st, err := ctl.ListServiceState(ctx)
			if err != nil {
				return err
			}
			return ctl.CommitServiceStatus(ctx, "default/web", nil, st.Statuses["default/web"].ModRevision, store.ServiceClaims{}, claims)
		}, true},

		{"write a node", func(ctx context.Context) error {
			return ctl.PutNode(ctx, &api.Node{Metadata: api.ObjectMeta{Name: "x"}})
		}, false},
		{"heartbeat for a node", rawPut(ctl, store.NodeLeases, "a"), false},
		{"read a token", c.readToken(ctl), false},
		{"list tokens", rawGet(ctl, store.Tokens, ""), false},
		{"record the nodes", func(ctx context.Context) error { return ctl.PutNodesStatus(ctx, api.NodesStatus{}) }, false},
		{"campaign in the scheduler's election", rawPut(ctl, store.Leaders, store.ElectionScheduler+"/x"), false},
		{"change rights", func(ctx context.Context) error { return ctl.SetNodeConfigMaps(ctx, "a", []api.Key{c.cm1}) }, false},
	})
}

// TestEnableAuthRepairs: EnableAuth puts back the rights this version defines when a role was
// widened or narrowed by hand, or a user was given another role.
func TestEnableAuthRepairs(t *testing.T) {
	c := startAuthCluster(t)
	ctx, cl := t.Context(), c.admin.Client()
	desired := store.Key(store.Desired, "")
	if _, err := cl.RoleGrantPermission(ctx, store.UserViewer, desired, clientv3.GetPrefixRangeEnd(desired), clientv3.PermissionType(clientv3.PermWrite)); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.RoleRevokePermission(ctx, store.UserViewer, "/gitfleet/", "/gitfleet/tokens/"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.UserGrantRole(ctx, store.UserViewer, store.UserController); err != nil {
		t.Fatal(err)
	}
	tampered := []check{
		{"write a desired object", rawPut(c.viewer, store.Desired, c.deploy.String()), true},
		{"create a pod", func(ctx context.Context) error { return c.viewer.CreatePod(ctx, fixture.Pod("y", "busybox")) }, true},
	}
	runChecks(t, "viewer, tampered", tampered)
	if err := c.admin.EnableAuth(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range tampered {
		tampered[i].allow = false
	}
	runChecks(t, "viewer, repaired", append(tampered,
		check{"list pods", func(ctx context.Context) error { return errOf(c.viewer.ListPods(ctx)) }, true}))
	if resp, err := cl.UserGet(ctx, store.UserViewer); err != nil || fmt.Sprint(resp.Roles) != "[viewer]" {
		t.Errorf("viewer's roles: %v, %v", resp, err)
	}
}

// TestEnableAuthKeepsRegisteredNodes: a node that registered before auth was on gets its user
// when auth comes on, so its agent keeps working.
func TestEnableAuthKeepsRegisteredNodes(t *testing.T) {
	ctx := t.Context()
	admin, srv := etcdtest.StartTLS(t)
	old := srv.ConnectAs(t, store.NodeUser("old"))
	reg := &api.Node{Metadata: api.ObjectMeta{Name: "old"}, Status: api.NodeStatus{HostID: "h"}}
	if err := old.PutNode(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if err := admin.EnableAuth(ctx); err != nil {
		t.Fatal(err)
	}
	runChecks(t, "node old", []check{
		{"register again", func(ctx context.Context) error { return old.PutNode(ctx, reg) }, true},
		{"list nodes", func(ctx context.Context) error { return errOf(old.ListNodes(ctx)) }, true},
		{"list pods", func(ctx context.Context) error { return errOf(old.ListPods(ctx)) }, false},
	})
}
