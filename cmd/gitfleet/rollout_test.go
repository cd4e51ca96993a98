package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/gittest"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	"github.com/gitfleet/gitfleet/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// rolloutManifest is the Deployment web of n replicas of a busybox httpd that stops on SIGTERM
// at once (the shell's trap; httpd as PID 1 would ignore it), rolled 25 %/25 %; version is an
// environment variable, so that changing it changes the template and nothing else.
func rolloutManifest(n int, version, image string, deadlineSeconds int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: %d
  progressDeadlineSeconds: %d
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 25%%, maxUnavailable: 25%%}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: httpd
          image: %s
          env: [{name: VERSION, value: %q}]
          command: ["sh", "-c"]
          args:
            - trap 'exit 0' TERM; mkdir -p /tmp/www && echo "hello from $(hostname)" > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www & wait
`, n, deadlineSeconds, image, version)
}

// podWatch follows the Pods of web and their statuses in etcd, from one watch of both key
// ranges, and checks the bounds of a rollout at every revision. A Pod counts from the
// revision its key is written to the one it is deleted in (the node may still be stopping its
// containers then, as in Kubernetes a terminating Pod no longer counts); it counts as ready
// while the status its node wrote says Running and ready.
type podWatch struct {
	mu       sync.Mutex
	pods     map[string]string // namespace/name -> pod-template-hash
	ready    map[string]bool   // namespace/name -> ready
	maxPods  int
	minReady int
	// armed is set once the rollout started: the bounds hold from then on.
	armed bool
	revs  int // revisions seen while armed
}

func watchPods(ctx context.Context, t testing.TB, st *store.Store) *podWatch {
	w := &podWatch{pods: map[string]string{}, ready: map[string]bool{}, minReady: 1 << 30}
	rev, err := st.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	podsPrefix, statusPrefix := store.Key(store.Pods, ""), store.Key(store.PodStatus, "")
	// One watch of both ranges ([pods/, podstatus0)), so every revision's events come together.
	ch := st.Client().Watch(ctx, podsPrefix, clientv3.WithRange(clientv3.GetPrefixRangeEnd(statusPrefix)),
		clientv3.WithRev(rev+1))
	go func() {
		for resp := range ch {
			w.apply(resp.Events, podsPrefix, statusPrefix)
		}
	}()
	return w
}

func (w *podWatch) apply(events []*clientv3.Event, podsPrefix, statusPrefix string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range events {
		key, del := string(ev.Kv.Key), ev.Type == clientv3.EventTypeDelete
		switch {
		case strings.HasPrefix(key, podsPrefix):
			name := strings.TrimPrefix(key, podsPrefix)
			var p api.Pod
			if del || json.Unmarshal(ev.Kv.Value, &p) != nil || !strings.HasPrefix(name, "default/web-") {
				delete(w.pods, name)
				continue
			}
			w.pods[name] = p.Metadata.Labels[api.LabelTemplateHash]
		case strings.HasPrefix(key, statusPrefix):
			rest := strings.TrimPrefix(key, statusPrefix)
			name := rest[strings.Index(rest, "/")+1:] // after the node's name
			var s api.PodStatus
			w.ready[name] = !del && json.Unmarshal(ev.Kv.Value, &s) == nil && s.IsReady()
		}
	}
	if w.armed {
		total, ready := w.countLocked()
		w.maxPods, w.minReady, w.revs = max(w.maxPods, total), min(w.minReady, ready), w.revs+1
	}
}

func (w *podWatch) countLocked() (total, ready int) {
	for name := range w.pods {
		total++
		if w.ready[name] {
			ready++
		}
	}
	return total, ready
}

// arm starts checking the bounds.
func (w *podWatch) arm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.maxPods, w.minReady, w.revs = true, 0, 1<<30, 0
	total, ready := w.countLocked()
	w.maxPods, w.minReady = total, ready
}

// bounds are the most Pods and the fewest ready seen since arm, over revs revisions.
func (w *podWatch) bounds() (maxPods, minReady, revs int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.maxPods, w.minReady, w.revs
}

// state returns the Pods of hash and of other hashes, and how many of each are ready.
func (w *podWatch) state(hash string) (cur, curReady, old, oldReady int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, h := range w.pods {
		if h == hash {
			cur, curReady = cur+1, curReady+b2i(w.ready[name])
		} else {
			old, oldReady = old+1, oldReady+b2i(w.ready[name])
		}
	}
	return
}

// hashes returns the template hashes of the Pods, for finding the new one.
func (w *podWatch) hashes() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for _, h := range w.pods {
		out[h]++
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// waitAll waits until exactly n Pods, all of one template and ready, are left; it returns
// that template hash.
func (w *podWatch) waitAll(c *cluster, n int, not string, timeout time.Duration) string {
	var hash string
	c.waitForFast(fmt.Sprintf("%d Pods of one new template ready", n), timeout, func() error {
		hs := w.hashes()
		if len(hs) != 1 {
			return fmt.Errorf("templates: %v", hs)
		}
		for h := range hs {
			hash = h
		}
		if cur, ready, _, _ := w.state(hash); hash == not || cur != n || ready != n {
			return fmt.Errorf("%d Pods of %s, %d ready", cur, hash, ready)
		}
		return nil
	})
	return hash
}

// rolloutEnv is a running cluster with web at n replicas of version v1, all ready, and a
// watch of its Pods.
type rolloutEnv struct {
	c      *cluster
	remote *gittest.Remote
	w      *podWatch
	hash   string
}

func startRollout(t testing.TB, n int, upFlags ...string) (*rolloutEnv, time.Duration) {
	c, remote := newCluster(t, upFlags...)
	remote.Write("deploy/web.yaml", rolloutManifest(0, "v1", "gitfleet.local/busybox:1", 600))
	remote.CommitAndPush("web: 0 replicas")
	c.start()
	c.waitFor("the first sync", 60*time.Second, func() error {
		st, err := c.status()
		if err == nil && st.Sync != "Synced" {
			err = fmt.Errorf("sync %s", st.Sync)
		}
		return err
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// Before up stops: scaled to 0, its agent stops the containers in parallel, which the
	// cleanup's one-by-one removal of 100 Pods would not finish in its minute on a busy machine.
	t.Cleanup(func() {
		remote.Write("deploy/web.yaml", rolloutManifest(0, "v0", "gitfleet.local/busybox:1", 600))
		remote.CommitAndPush("web: 0 replicas")
		ns, deadline := namespaceOf(c), time.Now().Add(2*time.Minute)
		for len(containers(t, ns)) > 0 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
	})
	e := &rolloutEnv{c: c, remote: remote, w: watchPods(ctx, t, c.connect())}
	start := time.Now()
	remote.Write("deploy/web.yaml", rolloutManifest(n, "v1", "gitfleet.local/busybox:1", 600))
	remote.CommitAndPush(fmt.Sprintf("web: %d replicas", n))
	e.hash = e.w.waitAll(c, n, "", 5*time.Minute)
	return e, time.Since(start)
}

// replace pushes version v and waits for all n Pods replaced; it returns how long that took.
func (e *rolloutEnv) replace(n int, v string) time.Duration {
	e.w.arm()
	start := time.Now()
	e.remote.Write("deploy/web.yaml", rolloutManifest(n, v, "gitfleet.local/busybox:1", 600))
	e.remote.CommitAndPush("web: " + v)
	e.hash = e.w.waitAll(e.c, n, e.hash, 5*time.Minute)
	return time.Since(start)
}

// webRollout is the rollout of web in `status -o json`.
func (c *cluster) webRollout() (api.ObjectStatus, error) {
	out, err := c.cli("status", "-o", "json")
	if err != nil {
		return api.ObjectStatus{}, err
	}
	var st struct {
		Objects []api.ObjectStatus `json:"objects"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return api.ObjectStatus{}, fmt.Errorf("decode status: %w: %s", err, out)
	}
	for _, o := range st.Objects {
		if o.Key.Kind == api.KindDeployment && o.Key.Name == "web" && o.Rollout != nil {
			return o, nil
		}
	}
	return api.ObjectStatus{}, fmt.Errorf("no rollout of web in %s", out)
}

// rolloutReplicas is the size of TestRollout: 100 containers took 52 s to start on this 2-core
// machine (shared, load 25-35) and their replacement 96 s, so CI rolls 20 (25 %: 5 surge, 5
// unavailable; the test takes about 65 s) and BenchmarkRollout rolls the 100.
const rolloutReplicas = 20

// TestRollout rolls a changed template over web's Pods with the built binary, 25 %/25 %:
// every Pod is replaced, with never more than replicas+25 % Pods nor fewer than replicas-25 %
// ready at any revision of etcd; then a template whose image is missing stops at its progress
// deadline, Degraded with ProgressDeadlineExceeded naming the image error, old Pods serving.
func TestRollout(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	n := rolloutReplicas
	e, started := startRollout(t, n)
	t.Logf("%d Pods ready %s after the push", n, started.Round(time.Millisecond))
	replaced := e.replace(n, "v2")
	maxPods, minReady, revs := e.w.bounds()
	t.Logf("replaced %d Pods in %s: at most %d Pods, at least %d ready over %d revisions", n,
		replaced.Round(time.Millisecond), maxPods, minReady, revs)
	if surge, unavailable := (n+3)/4, n/4; maxPods > n+surge || minReady < n-unavailable {
		t.Errorf("bounds broken: %d Pods (at most %d), %d ready (at least %d)", maxPods, n+surge, minReady, n-unavailable)
	}
	e.c.waitFor("the rollout Complete", 30*time.Second, func() error {
		o, err := e.c.webRollout()
		if err == nil && (o.Rollout.State != api.RolloutComplete || o.Rollout.Updated != n || o.Rollout.Revision != 2) {
			err = fmt.Errorf("rollout %+v", *o.Rollout)
		}
		return err
	})

	out, err := e.c.cli("get", "rs")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("get rs:\n%s", out)
	want := []string{fmt.Sprintf("default web-%s %d %d %d", e.hash, n, n, n), "0 0 0"} // revision 2, then 1
	for i, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if i >= len(want) || len(f) != 7 || !strings.HasSuffix(strings.Join(f[:5], " "), want[i]) || f[6] != fmt.Sprint(2-i) {
			t.Errorf("get rs line %d: %q", i, line)
		}
	}

	// A missing image: the rollout stops at its deadline; the old Pods keep serving.
	e.w.arm()
	e.remote.Write("deploy/web.yaml", rolloutManifest(n, "v3", "gitfleet.local/missing:1", 8))
	e.remote.CommitAndPush("web: a missing image")
	var degraded api.ObjectStatus
	e.c.waitFor("web Degraded: ProgressDeadlineExceeded", 60*time.Second, func() (err error) {
		degraded, err = e.c.webRollout()
		if err == nil && (degraded.Health != api.HealthDegraded || degraded.Rollout.State != api.RolloutDeadlineExceeded) {
			err = fmt.Errorf("%s: %s", degraded.Health, degraded.Message)
		}
		return err
	})
	t.Logf("web: %s: %s", degraded.Health, degraded.Message)
	r := degraded.Rollout
	if !strings.Contains(r.Reason, "ErrImagePull") || len(r.Failing) == 0 || r.Failing[0].Reason != api.ReasonErrImagePull {
		t.Errorf("reason %q, failing %+v: want the image error named", r.Reason, r.Failing)
	}
	time.Sleep(2 * time.Second) // a rollout that did not stop would move on meanwhile
	_, _, old, oldReady := e.w.state(r.TemplateHash)
	if oldReady < n-n/4 || old != oldReady {
		t.Errorf("after the deadline: %d old Pods, %d ready; want at least %d, all ready", old, oldReady, n-n/4)
	}
	if maxPods, minReady, _ := e.w.bounds(); maxPods > n+(n+3)/4 || minReady < n-n/4 {
		t.Errorf("bounds broken by the bad rollout: %d Pods, %d ready", maxPods, minReady)
	}
}
