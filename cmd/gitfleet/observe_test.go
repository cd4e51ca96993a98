package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/netnstest"
	"github.com/gitfleet/gitfleet/internal/testenv"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// hugeDeployment asks for more CPU than any node has: its Pod fits nowhere.
const hugeDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: huge
spec:
  replicas: 1
  selector:
    matchLabels:
      app: huge
  template:
    metadata:
      labels:
        app: huge
    spec:
      containers:
        - name: app
          image: gitfleet.local/busybox:1
          command: ["sleep", "3600"]
          resources:
            requests:
              cpu: "1000"
`

// TestObservability drives up with --http-listen through a scale-up, a Pod that fits nowhere
// and a bad commit, and reads what it tells: /healthz and /readyz, the events (gitfleet events,
// and -w), and /metrics parsed with Prometheus' text parser.
func TestObservability(t *testing.T) {
	if !netnstest.Run(t) {
		return
	}
	testenv.RequireContainerd(t)
	c, remote := newCluster(t, "--http-listen", "127.0.0.1:0")
	c.start()
	base := strings.TrimSuffix(c.dashboardURL(), "/")
	c.waitFor("2 pods running", 90*time.Second, func() error { _, err := c.runningPods(2); return err })
	if code, body := httpGet(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	c.waitFor("every role ready", 30*time.Second, func() error {
		code, body := httpGet(t, base+"/readyz")
		var answers map[string]string
		if err := json.Unmarshal([]byte(body), &answers); err != nil {
			return fmt.Errorf("/readyz %d %q: %w", code, body, err)
		}
		for _, r := range []string{"etcd", "controller", "scheduler", "agent"} {
			if answers[r] != "ok" {
				return fmt.Errorf("/readyz %d: %s: %q", code, r, answers[r])
			}
		}
		if code != 200 {
			return fmt.Errorf("/readyz %d %s", code, body)
		}
		return nil
	})

	web := readFile(t, "../../examples/manifests/web.yaml")
	remote.Write("deploy/web.yaml", strings.Replace(web, "replicas: 2", "replicas: 4", 1))
	remote.CommitAndPush("scale web to 4")
	var pods []podJSON
	c.waitFor("4 pods running", 60*time.Second, func() (err error) { pods, err = c.runningPods(4); return err })
	c.waitFor("each Pod scheduled and started", 20*time.Second, func() error {
		evs, err := c.events()
		if err != nil {
			return err
		}
		for _, p := range pods {
			for _, reason := range []string{api.ReasonScheduled, api.ReasonStarted} {
				if findEvent(evs, api.KindPod, p.Metadata.Name, reason) == nil {
					return fmt.Errorf("no %s event for %s", reason, p.Metadata.Name)
				}
			}
		}
		return nil
	})

	remote.Write("deploy/huge.yaml", hugeDeployment)
	remote.CommitAndPush("a Pod that fits nowhere")
	c.waitFor("huge's Pod FailedScheduling for its CPU", 30*time.Second, func() error {
		evs, err := c.events()
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Reason == api.ReasonFailedScheduling && strings.HasPrefix(e.Object.Name, "huge-") {
				if e.Type != api.EventWarning || !strings.Contains(e.Message, "Insufficient cpu") {
					return fmt.Errorf("FailedScheduling event %+v: want a Warning naming Insufficient cpu", e)
				}
				out, err := c.cli("events", "--for", "Pod/default/"+e.Object.Name)
				if err != nil || !strings.Contains(out, "FailedScheduling") || !strings.Contains(out, "LAST SEEN") {
					return fmt.Errorf("events --for: %v\n%s", err, out)
				}
				t.Logf("events --for Pod/default/%s:\n%s", e.Object.Name, out)
				return nil
			}
		}
		return fmt.Errorf("no FailedScheduling event for huge's Pod")
	})

	watch := c.watchEvents(t, "--for", "Source/default")
	remote.Write("deploy/web.yaml", strings.Replace(web, "replicas: 2", "replicas: two", 1))
	remote.CommitAndPush("break web")
	c.waitFor("the bad commit's SyncFailed, watched", 30*time.Second, func() error {
		for _, line := range watch.lines() {
			var e api.Event
			if json.Unmarshal([]byte(line), &e) == nil && e.Reason == api.ReasonSyncFailed && strings.Contains(e.Message, "deploy/web.yaml:") {
				return nil
			}
		}
		return fmt.Errorf("events -w printed %q", watch.lines())
	})

	checkMetrics(t, c, base)
}

// checkMetrics reads /metrics after 3 good commits and a bad one.
func checkMetrics(t *testing.T, c *cluster, base string) {
	var fams map[string]*dto.MetricFamily
	c.waitFor("the metrics after 3 good syncs and a bad one", 30*time.Second, func() error {
		code, body := httpGet(t, base+"/metrics")
		if code != 200 {
			return fmt.Errorf("/metrics: %d %s", code, body)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		var err error
		if fams, err = p.TextToMetricFamilies(strings.NewReader(body)); err != nil {
			return fmt.Errorf("parse /metrics: %w", err)
		}
		for _, want := range []struct {
			name   string
			labels map[string]string
			value  float64
		}{
			{"gitfleet_sync_total", map[string]string{"result": "succeeded"}, 3},
			{"gitfleet_sync_total", map[string]string{"result": "failed"}, 1},
			{"gitfleet_objects", map[string]string{"kind": "Deployment", "health": "Healthy"}, 1},
			{"gitfleet_pods", map[string]string{"phase": "Running", "node": "e2e"}, 4},
			{"gitfleet_pods", map[string]string{"phase": "Pending", "node": ""}, 1},
		} {
			if got, ok := metricValue(fams, want.name, want.labels); !ok || got != want.value {
				return fmt.Errorf("%s%v = %v (found %t), want %v", want.name, want.labels, got, ok, want.value)
			}
		}
		return nil
	})
	deployments := 0.0
	for _, h := range []string{"Healthy", "Progressing", "Degraded", "Missing"} {
		v, _ := metricValue(fams, "gitfleet_objects", map[string]string{"kind": "Deployment", "health": h})
		deployments += v
	}
	if deployments != 2 {
		t.Errorf("gitfleet_objects of kind Deployment sum to %v, want 2", deployments)
	}
	for _, want := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"gitfleet_sync_duration_seconds", map[string]string{"result": "succeeded"}, 3},
		{"gitfleet_scheduling_attempts_total", map[string]string{"result": "scheduled"}, 4},
		{"gitfleet_scheduling_attempts_total", map[string]string{"result": "unschedulable"}, 1},
		{"gitfleet_scheduling_duration_seconds", nil, 1},
		{"gitfleet_agent_operation_duration_seconds", map[string]string{"operation": "create"}, 4},
		{"gitfleet_git_fetch_duration_seconds", nil, 4},
		{"gitfleet_etcd_request_duration_seconds", map[string]string{"op": "Txn"}, 1},
		{"gitfleet_last_applied_commit_timestamp_seconds", nil, float64(time.Now().Add(-time.Hour).Unix())},
		{"go_goroutines", nil, 1},
		{"process_resident_memory_bytes", nil, 1},
	} {
		if got, ok := metricValue(fams, want.name, want.labels); !ok || got < want.min {
			t.Errorf("%s%v = %v (found %t), want at least %v", want.name, want.labels, got, ok, want.min)
		}
	}
	if _, ok := fams["gitfleet_reconcile_errors_total"]; ok {
		t.Logf("reconcile errors: %v", fams["gitfleet_reconcile_errors_total"])
	}
}

// metricValue is the value of the sample of family name whose labels include labels: a
// counter's or gauge's value, a histogram's count.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// events returns `gitfleet events -o json`.
func (c *cluster) events() ([]api.Event, error) {
	out, err := c.cli("events", "-o", "json")
	if err != nil {
		return nil, err
	}
	var l struct {
		Items []api.Event `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("decode events: %w: %s", err, out)
	}
	return l.Items, nil
}

func findEvent(evs []api.Event, kind, name, reason string) *api.Event {
	for i, e := range evs {
		if e.Object.Kind == kind && e.Object.Name == name && e.Reason == reason {
			return &evs[i]
		}
	}
	return nil
}

// lineWatch collects the lines a command prints.
type lineWatch struct {
	mu  sync.Mutex
	out []string
}

func (w *lineWatch) lines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.out...)
}

// watchEvents runs `gitfleet events -w -o json` with args until the test ends.
func (c *cluster) watchEvents(t *testing.T, args ...string) *lineWatch {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := c.cliCommand(append([]string{"events", "-w", "-o", "json"}, args...)...)
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &lineWatch{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			w.mu.Lock()
			w.out = append(w.out, sc.Text())
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cmd.Wait() })
	return w
}
