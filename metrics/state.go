package metrics

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
	"github.com/prometheus/client_golang/prometheus"
)

// StateSource is what the state collector reads; *store.Store implements it.
type StateSource interface {
	GetSync(ctx context.Context, source string) (api.SyncStatus, error)
	GetHealth(ctx context.Context, source string) (api.HealthStatus, error)
	ListPodsWithStatus(ctx context.Context) ([]api.Pod, error)
}

var _ StateSource = (*store.Store)(nil)

var (
	objectsDesc = prometheus.NewDesc("gitfleet_objects",
		"Desired objects of the source by health (Healthy, Progressing, Degraded, Missing) and kind, as the workload controller last recorded.",
		[]string{"health", "kind"}, nil)
	podsDesc = prometheus.NewDesc("gitfleet_pods",
		"Pods by phase and node (empty: not bound yet).", []string{"phase", "node"}, nil)
	lastAppliedDesc = prometheus.NewDesc("gitfleet_last_applied_commit_timestamp_seconds",
		"Commit time of the commit applied last (absent before the first).", nil, nil)
)

// healths are the values of gitfleet_objects' health label, each reported for every kind seen.
var healths = []string{api.HealthHealthy, api.HealthProgressing, api.HealthDegraded, api.HealthMissing}

// stateCollector reports, on each scrape, what etcd records of the source: its objects'
// health, the Pods and the applied commit. A scrape costs three reads; the state is the
// cluster's, the same from every control-plane host.
type stateCollector struct {
	st      StateSource
	source  string
	timeout time.Duration
	log     *slog.Logger
}

// NewStateCollector returns the collector of source's state in st (api.DefaultSource when
// ""); each scrape's reads are bounded by timeout (5s when 0).
func NewStateCollector(st StateSource, source string, timeout time.Duration, log *slog.Logger) prometheus.Collector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &stateCollector{st: st, source: cmp.Or(source, api.DefaultSource), timeout: cmp.Or(timeout, 5*time.Second), log: log}
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- objectsDesc
	ch <- podsDesc
	ch <- lastAppliedDesc
}

// Collect reads the state; a read that fails leaves its metrics out of this scrape (and logs).
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if h, err := c.st.GetHealth(ctx, c.source); c.ok(err) {
		for k, n := range objectCounts(h) {
			ch <- prometheus.MustNewConstMetric(objectsDesc, prometheus.GaugeValue, float64(n), k.health, k.kind)
		}
	}
	if pods, err := c.st.ListPodsWithStatus(ctx); c.ok(err) {
		for k, n := range podCounts(pods) {
			ch <- prometheus.MustNewConstMetric(podsDesc, prometheus.GaugeValue, float64(n), k.phase, k.node)
		}
	}
	if s, err := c.st.GetSync(ctx, c.source); c.ok(err) && s.AppliedCommit != "" {
		if t, err := time.Parse(time.RFC3339, s.Commit.Time); err == nil {
			ch <- prometheus.MustNewConstMetric(lastAppliedDesc, prometheus.GaugeValue, float64(t.Unix()))
		}
	}
}

// ok reports whether a read succeeded; not found (before the first sync) is no failure.
func (c *stateCollector) ok(err error) bool {
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.log.Warn("metrics: read state", "err", err)
	}
	return err == nil
}

type objectKey struct{ health, kind string }

// objectCounts counts h's objects by health and kind, every health of a kind seen included.
func objectCounts(h api.HealthStatus) map[objectKey]int {
	out := map[objectKey]int{}
	for _, o := range h.Objects {
		for _, hv := range healths {
			out[objectKey{hv, o.Key.Kind}] += 0
		}
		out[objectKey{o.Health, o.Key.Kind}]++
	}
	return out
}

type podKey struct{ phase, node string }

// podCounts counts pods by phase (Pending when none is recorded) and node.
func podCounts(pods []api.Pod) map[podKey]int {
	out := map[podKey]int{}
	for _, p := range pods {
		out[podKey{cmp.Or(p.Status.Phase, api.PodPending), p.Spec.NodeName}]++
	}
	return out
}
