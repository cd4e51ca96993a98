package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// haKills is how many times TestHAControlPlane kills the etcd leader's host.
const haKills = 10

// haBound is the correctness bound on the time from a kill to the pushed commit's Pod Running;
// the target (5s) is measured and reported, not asserted: this machine is shared.
const haBound = 60 * time.Second

// TestHAControlPlane is the HA test: three control-plane hosts (a runs up
// --advertise-address, b and c join it with up --join and a control-plane token) and a worker
// w. haKills times, the etcd leader's host is killed with SIGKILL and a commit pushed at once;
// its Pod (pinned to the worker) must run, and the killed host comes back as the same member.
// Then the sync controller's leader is cut off the network and a push is applied by another
// host, and history holds each commit once.
func TestHAControlPlane(t *testing.T) {
	testenv.RequireDaemon(t)
	if !netnstest.Run(t) {
		return
	}
	f := startHA(t)
	var took []time.Duration
	for i := range haKills {
		took = append(took, f.killLeaderAndPush(i))
	}
	sorted := slices.Sorted(slices.Values(took))
	t.Logf("etcd leader's host killed %d times: kill to pushed Pod Running min %s, median %s, max %s (the issue's target: 5s); all: %v",
		len(took), sorted[0].Round(10*time.Millisecond), sorted[len(sorted)/2].Round(10*time.Millisecond),
		sorted[len(sorted)-1].Round(10*time.Millisecond), took)
	f.partitionSyncLeader()
	f.replaceDeadMember("c")
	f.checkHistory()
}

// BenchmarkLeaderHostLoss measures the time from killing the etcd leader's host to a commit
// pushed right after running, on one cluster of three control-plane hosts and a worker; the
// killed host comes back between runs (not timed). It reports the minimum, median and
// maximum; ns/op also counts the host's return.
//
//	go test -run '^$' -bench BenchmarkLeaderHostLoss -benchtime 10x ./cmd/gitfleet/
func BenchmarkLeaderHostLoss(b *testing.B) {
	testenv.RequireDaemon(b)
	if !netnstest.RunB(b) {
		return
	}
	f := startHA(b)
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		took = append(took, f.killLeaderAndPush(i))
	}
	b.StopTimer()
	sorted := slices.Sorted(slices.Values(took))
	b.ReportMetric(sorted[0].Seconds(), "min-s")
	b.ReportMetric(sorted[len(sorted)/2].Seconds(), "median-s")
	b.ReportMetric(sorted[len(sorted)-1].Seconds(), "max-s")
}

// haFleet is a fleet whose first three hosts are control-plane members and whose last is a
// worker, with a store client that reaches etcd through any control-plane host.
type haFleet struct {
	*fleet
	st *store.Store
	// args are each host's gitfleet command line, to start it again after a kill.
	args map[string][]string
	// rounds is how many rounds were pushed; round i is the Pod round-i.
	rounds int
}

// startHA starts a, then b and c joining it as control-plane members, then the worker w, and
// waits until three members vote and four nodes are Ready.
func startHA(t testing.TB) *haFleet {
	f := &haFleet{fleet: newFleet(t, "a", "b", "c", "w"), args: map[string][]string{}}
	a, w := f.host("a"), f.host("w")
	f.args["a"] = append([]string{"up", "--repo", f.remote.URL(), "--poll", "200ms", "--allow-mass-prune"}, f.nodeArgs(a)...)
	f.run(a, f.args["a"]...)
	cpToken := filepath.Join(t.TempDir(), "cp-token")
	f.waitFor("a control-plane join token", 60*time.Second, func() error {
		token, err := f.cli("token", "create", "--control-plane")
		if err != nil {
			return err
		}
		return os.WriteFile(cpToken, []byte(token), 0o600)
	})
	for _, name := range []string{"b", "c"} {
		h := f.host(name)
		f.args[name] = append([]string{"up", "--join", f.joinURL(), "--token-file", cpToken, "--repo", f.remote.URL(), "--poll", "200ms", "--allow-mass-prune"}, f.nodeArgs(h)...)
		f.run(h, f.args[name]...)
	}
	f.st = f.haStore()
	f.waitVoters(3)
	// The worker joins a cluster of three: it gets all of them to dial. (One that joined a
	// smaller cluster learns of the others within the client's 30s member sync.)
	f.args["w"] = append(append([]string{"agent"}, f.joinArgs()...), append(f.nodeArgs(w), "--node-labels", "role=worker")...)
	f.run(w, f.args["w"]...)
	f.waitNodes(len(f.hosts))
	out, err := f.cli("member", "list")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("members:\n%s", out)
	f.checkRights()
	return f
}

// checkRights checks, with the certificates the hosts hold, that etcd gives each identity only
// its rights: the worker's node may write its own node's key and not another's, nor a
// binding, nor desired state; the viewer (the CLI's read commands) reads and writes nothing.
func (f *haFleet) checkRights() {
	t := f.t
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A worker's own certificate is its pki dir's client pair: admin's file names.
	worker := f.dialAs(f.host("w"), store.UserAdmin)
	viewer := f.dialAs(f.host("a"), store.UserViewer)
	own, err := worker.Get(ctx, store.Key(store.Nodes, "w"))
	if err != nil || len(own.Kvs) != 1 {
		t.Fatalf("the worker reads its own node: %v", err)
	}
	if _, err := worker.Put(ctx, store.Key(store.Nodes, "w"), string(own.Kvs[0].Value)); err != nil {
		t.Errorf("the worker writes its own node: %v", err)
	}
	refused := []struct {
		who  string
		c    *clientv3.Client
		key  string
		read bool
	}{
		{"worker", worker, store.Key(store.Nodes, "a"), false},
		{"worker", worker, store.Key(store.NodeLeases, "a"), false},
		{"worker", worker, store.Key(store.PodStatus, "a/default/x"), false},
		{"worker", worker, store.Key(store.NodePods, "a/default/x"), false},
		{"worker", worker, store.Key(store.Desired, "Deployment/default/x"), false},
		{"worker", worker, store.Key(store.NodePods, "a/"), true},
		{"worker", worker, store.Key(store.Tokens, "abcdef"), true},
		{"viewer", viewer, store.Key(store.Desired, "Deployment/default/x"), false},
		{"viewer", viewer, store.Key(store.Tokens, "abcdef"), true},
	}
	for _, r := range refused {
		var err error
		if r.read {
			_, err = r.c.Get(ctx, r.key, clientv3.WithPrefix())
		} else {
			_, err = r.c.Put(ctx, r.key, "{}")
		}
		if !errors.Is(err, store.ErrPermissionDenied) {
			t.Errorf("%s %s %s: %v, want permission denied", r.who, map[bool]string{true: "reads", false: "writes"}[r.read], r.key, err)
		}
	}
	if _, err := viewer.Get(ctx, store.Key(store.Pods, ""), clientv3.WithPrefix()); err != nil {
		t.Errorf("the viewer reads Pods: %v", err)
	}
}

// haStore connects to etcd through every control-plane host, as a's admin.
func (f *haFleet) haStore() *store.Store { return store.New(f.dialAs(f.host("a"), store.UserAdmin)) }

// dialAs connects to etcd through every control-plane host with the certificate of user that
// h holds in its pki dir.
func (f *haFleet) dialAs(h *fleetHost, user string) *clientv3.Client {
	f.t.Helper()
	var eps []string
	for _, cp := range f.hosts[:3] {
		eps = append(eps, "https://"+cp.IP+":"+etcdPort)
	}
	dir := pkiDir(h.dataDir)
	cert, key := identityFiles(dir, user)
	tlsCfg, err := pki.ClientTLS(filepath.Join(dir, pki.CACert), cert, key)
	if err != nil {
		f.t.Fatal(err)
	}
	c, err := store.ConnectMembers(eps, tlsCfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

// waitVoters waits until n members vote, all started, one leads; it returns the leader.
func (f *haFleet) waitVoters(n int) store.Member {
	var lead store.Member
	f.waitFor(fmt.Sprintf("%d voting etcd members, one leader", n), 120*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		members, err := f.st.Members(ctx)
		if err != nil {
			return err
		}
		voters := 0
		lead = store.Member{}
		for _, m := range members {
			if m.Started() && !m.Learner {
				voters++
			}
			if m.Leader {
				lead = m
			}
		}
		if voters != n || len(members) != n || lead.Name == "" {
			return fmt.Errorf("members %+v", members)
		}
		return nil
	})
	return lead
}

// killLeaderAndPush kills the etcd leader's host, pushes round i's Pod at once, and returns the
// time from the kill to that Pod Running. Then it starts the host again and waits until it
// votes and its node is Ready.
func (f *haFleet) killLeaderAndPush(i int) time.Duration {
	t := f.t
	lead := f.waitVoters(3)
	h := f.host(lead.Name)
	f.useCLIOf(h)
	var led []string
	for _, role := range []string{"controller", "workloads", "scheduler"} {
		if f.roleLeader(role) == h {
			led = append(led, role)
		}
	}
	start := time.Now()
	if err := f.stop(h, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	f.pushRound(i)
	f.waitForFast(fmt.Sprintf("round %d's Pod Running after %s's kill", i, h.Name), haBound, func() error {
		return f.roundRunning(i)
	})
	took := time.Since(start)
	t.Logf("round %d: killed %s (etcd leader, and leader of %v); pushed Pod Running %s after the kill", i, h.Name, led, took.Round(10*time.Millisecond))
	f.run(h, f.args[h.Name]...)
	f.waitVoters(3)
	f.waitNodes(len(f.hosts))
	return took
}

// useCLIOf runs the test's CLI commands on a control-plane host other than h.
func (f *haFleet) useCLIOf(h *fleetHost) {
	for _, o := range f.hosts[:3] {
		if o != h {
			f.dataDir, f.command = o.dataDir, o.Command
			return
		}
	}
}

// pushRound replaces the previous round's Pod with round i's, on the worker.
func (f *haFleet) pushRound(i int) {
	if i > 0 {
		f.remote.Remove(fmt.Sprintf("deploy/round-%d.yaml", i-1))
	}
	f.remote.Write(fmt.Sprintf("deploy/round-%d.yaml", i), fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: round-%d
spec:
  nodeSelector:
    role: worker
  containers:
    - name: sleep
      image: gitfleet.local/busybox:1
      command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
`, i))
	f.remote.CommitAndPush(fmt.Sprintf("round %d", i))
	f.rounds = i + 1
}

// roundRunning is nil once round i's Pod is Running and ready, read from etcd directly.
func (f *haFleet) roundRunning(i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pods, err := f.st.ListPodsWithStatus(ctx)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("round-%d", i)
	for _, p := range pods {
		if p.Metadata.Name == name {
			if p.Status.Phase != api.PodRunning || !p.Status.Ready {
				return fmt.Errorf("pod %s on %q: %s %s", name, p.Spec.NodeName, p.Status.Phase, p.Status.Message)
			}
			return nil
		}
	}
	return fmt.Errorf("no pod %s yet", name)
}

// partitionSyncLeader pulls the cable of the host that leads the sync controller, pushes a
// round, and waits for another host to apply it and its Pod to run; then it plugs the cable
// back in and waits for the cluster to be whole.
func (f *haFleet) partitionSyncLeader() {
	t := f.t
	h := f.roleLeader("controller")
	f.useCLIOf(h)
	start := time.Now()
	h.Disconnect(t)
	i := f.rounds
	f.pushRound(i)
	f.waitFor(fmt.Sprintf("round %d's Pod Running with %s cut off", i, h.Name), haBound, func() error {
		return f.roundRunning(i)
	})
	if now := f.roleLeader("controller"); now == h {
		t.Fatalf("host %s still leads the sync controller while cut off", h.Name)
	}
	t.Logf("sync controller's leader %s cut off: pushed Pod Running %s later, applied by another host", h.Name, time.Since(start).Round(10*time.Millisecond))
	h.Reconnect(t)
	f.waitVoters(3)
	f.waitNodes(len(f.hosts))
}

// roleLeader is the host whose candidate leads role: the election key with the lowest create
// revision holds the leader's identity, "hostname:DATA_DIR".
func (f *haFleet) roleLeader(role string) *fleetHost {
	f.t.Helper()
	var lead *fleetHost
	f.waitFor("a leader of "+role, 30*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := f.st.Client().Get(ctx, store.LeaderPrefix(role)+"/", clientv3.WithFirstCreate()...)
		if err != nil {
			return err
		}
		if len(resp.Kvs) == 0 {
			return fmt.Errorf("no candidate")
		}
		id := string(resp.Kvs[0].Value)
		for _, h := range f.hosts {
			if strings.HasSuffix(id, ":"+h.dataDir) {
				lead = h
				return nil
			}
		}
		return fmt.Errorf("leader %q is no host's", id)
	})
	return lead
}

// checkHistory checks that every round's commit was applied once, in order, by whichever host
// led: no deposed leader wrote a second entry.
func (f *haFleet) checkHistory() {
	out, err := f.cli("history", "-o", "json")
	if err != nil {
		f.t.Fatal(err)
	}
	var h struct {
		Items []struct {
			ID     int64 `json:"id"`
			Commit struct {
				Message string `json:"message"`
			} `json:"commit"`
			Result string `json:"result"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		f.t.Fatalf("decode history: %v: %s", err, out)
	}
	seen := map[string]int{}
	ids := map[int64]bool{}
	for _, e := range h.Items {
		if e.Result == "Synced" {
			seen[e.Commit.Message]++
		}
		if ids[e.ID] {
			f.t.Errorf("history ID %d twice", e.ID)
		}
		ids[e.ID] = true
	}
	for i := range f.rounds {
		if n := seen[fmt.Sprintf("round %d", i)]; n != 1 {
			f.t.Errorf("round %d is in history as synced %d times, want once: %s", i, n, out)
		}
	}
}

// replaceDeadMember kills name's host for good and replaces it as an operator would: etcd
// refuses to remove a live member when that would leave it no quorum; the dead member is
// removed ('gitfleet member remove'), its node deleted, and a new host with an empty data dir
// joins in its place with a control-plane token. Then a pushed commit runs.
func (f *haFleet) replaceDeadMember(name string) {
	t := f.t
	dead := f.host(name)
	f.useCLIOf(dead)
	if err := f.stop(dead, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var alive string
	for _, h := range f.hosts[:3] {
		if h != dead {
			alive = h.Name
		}
	}
	if _, err := f.cli("member", "remove", alive); err == nil {
		t.Fatalf("etcd removed %s with %s dead: two of three members gone", alive, name)
	} else {
		t.Logf("refused, as it should be: %v", err)
	}
	// A member that answers slowly on this shared machine makes the check refuse: retry, as
	// an operator would.
	var out string
	f.waitFor("member "+name+" removed", 60*time.Second, func() (err error) {
		out, err = f.cli("member", "remove", name)
		return err
	})
	t.Logf("%s", strings.TrimSpace(out))
	// Its node is refused while still Ready: until its heartbeat lease ends.
	f.waitFor("node "+name+" deleted", 60*time.Second, func() (err error) {
		out, err = f.cli("node", "delete", name)
		return err
	})
	t.Logf("%s", strings.TrimSpace(out))
	f.waitVoters(2)
	// The new host: the same machine with a new disk (an empty data dir).
	dead.dataDir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dead.dataDir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(f.host("a").dataDir, "images", "busybox.tar"), filepath.Join(dead.dataDir, "images", "busybox.tar")); err != nil {
		t.Fatal(err)
	}
	token, err := f.cli("token", "create", "--control-plane")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	f.run(dead, append([]string{"up", "--join", f.joinURLOf(alive), "--token-file", tokenFile, "--repo", f.remote.URL(), "--poll", "200ms", "--allow-mass-prune"}, f.nodeArgs(dead)...)...)
	f.waitVoters(3)
	f.waitNodes(len(f.hosts))
	i := f.rounds
	f.pushRound(i)
	f.waitFor(fmt.Sprintf("round %d's Pod Running after %s's replacement", i, name), haBound, func() error {
		return f.roundRunning(i)
	})
	out, _ = f.cli("member", "list")
	t.Logf("%s replaced; members:\n%s", name, out)
}

// joinURLOf is the join server of the host named name, as its up records it.
func (f *haFleet) joinURLOf(name string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.host(name).dataDir, "join-url"))
	if err != nil {
		f.t.Fatalf("find %s's join server: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}
