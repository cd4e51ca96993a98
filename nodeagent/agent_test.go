package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// fakeAgentStore is an in-memory AgentStore for tests of one agent pass; it never registers.
type fakeAgentStore struct {
	NodeStore
	mu       sync.Mutex
	pods     []store.Item[api.Pod]
	desired  map[api.Key]store.DesiredObject
	statuses map[string]api.PodStatus
	// desiredReads counts the reads of desired objects; denied are those the node may not read.
	desiredReads int
	denied       map[api.Key]bool
	// node is the node record last written.
	node *api.Node
	// putErr is what writing the status of a Pod ("namespace/name") fails with.
	putErr map[string]error
}

func (s *fakeAgentStore) ListNodePods(_ context.Context, node string) ([]store.Item[api.Pod], int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Item[api.Pod]
	for _, p := range s.pods {
		if p.Value.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out, 1, nil
}

// ListRaw lists nothing: no test of one pass follows Services.
func (s *fakeAgentStore) ListRaw(context.Context, store.Resource) ([]store.Item[[]byte], int64, error) {
	return nil, 1, nil
}

func (s *fakeAgentStore) ListNodes(context.Context) ([]store.Item[api.Node], int64, error) {
	return nil, 1, nil
}

func (s *fakeAgentStore) GetDesired(_ context.Context, k api.Key) (store.DesiredObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.desiredReads++
	if s.denied[k] {
		return store.DesiredObject{}, fmt.Errorf("get %s: %w", k, store.ErrPermissionDenied)
	}
	obj, ok := s.desired[k]
	if !ok {
		return store.DesiredObject{}, fmt.Errorf("get %s: %w", k, store.ErrNotFound)
	}
	return obj, nil
}

func (s *fakeAgentStore) PutNode(_ context.Context, n *api.Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.node = n
	return nil
}

func (s *fakeAgentStore) WatchNodePods(context.Context, string, int64) <-chan store.Event {
	return nil
}

func (s *fakeAgentStore) PutPodStatuses(_ context.Context, _ string, puts []store.PodStatusPut) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make([]error, len(puts))
	for i, p := range puts {
		if errs[i] = s.putErr[p.Namespace+"/"+p.Name]; errs[i] == nil {
			s.statuses[p.Namespace+"/"+p.Name] = p.Status
		}
	}
	return errs
}

// TestReportPodGone checks that a status write refused because the Pod was deleted or replaced
// since the pass read it is logged at Debug and forgets what was reported for the Pod, while
// any other failed write stays a warning.
// TestReportAgentStopping: a status write the agent's stop cuts short is no warning (seen as
// one in TestUpStopsQuietly, which SIGTERMs up mid-pass).
func TestReportAgentStopping(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := NewAgent(&fakeAgentStore{}, newFakeRuntime(t0), log, AgentOptions{Node: NodeConfig{Name: "n1"}, Now: func() time.Time { return t0 }})
	key := api.PodKey{Namespace: "default", Name: "web"}
	a.reported[key] = report{rev: 1}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a.statusFailed(ctx, log, key, fmt.Errorf("write status of default/web: %w", context.Canceled))
	if want := `level=DEBUG msg="pod status not written: the agent is stopping" pod=default/web`; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs.String())
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("a write cut short by the stop is a warning:\n%s", logs.String())
	}
	if _, ok := a.reported[key]; !ok {
		t.Error("a write cut short forgot the Pod's last report")
	}
}

func TestReportPodGone(t *testing.T) {
	gone, flaky := testPod("gone", "", "main"), testPod("flaky", "", "main")
	st := &fakeAgentStore{statuses: map[string]api.PodStatus{}}
	for i, p := range []*api.Pod{gone, flaky} {
		p.Spec.NodeName = "n1"
		st.pods = append(st.pods, store.Item[api.Pod]{Name: api.PodKeyOf(p).String(), Value: *p, CreateRevision: int64(i + 1)})
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := NewAgent(st, newFakeRuntime(t0), log, AgentOptions{Node: NodeConfig{Name: "n1"}, Now: func() time.Time { return t0 }})
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(a.reported) != 2 {
		t.Fatalf("first pass reported %d pods, want 2", len(a.reported))
	}

	// Both Pods were replaced: the agent writes their status again, and the store refuses.
	for i := range st.pods {
		st.pods[i].CreateRevision += 10
	}
	st.putErr = map[string]error{
		"default/gone":  fmt.Errorf("write status of default/gone: %w", store.ErrNotFound),
		"default/flaky": errors.New("etcdserver: request timed out"),
	}
	logs.Reset()
	if err := a.settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.reported[api.PodKeyOf(gone)]; ok {
		t.Error("the gone Pod's last report is still kept")
	}
	if _, ok := a.reported[api.PodKeyOf(flaky)]; !ok {
		t.Error("a failed write forgot the Pod's last report")
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "pod=default/gone") && !strings.Contains(line, "level=DEBUG") {
			t.Errorf("gone Pod logged above Debug: %s", line)
		}
	}
	for _, want := range []string{"level=DEBUG msg=\"pod gone before its status was written\" node=n1 pass=2 pod=default/gone",
		"level=WARN msg=\"write pod status failed\" node=n1 pass=2 pod=default/flaky"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}
