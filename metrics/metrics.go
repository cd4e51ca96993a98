package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc"
)

// Sync results, the values of the result label of gitfleet_sync_*.
const (
	ResultSucceeded = "succeeded"
	ResultFailed    = "failed"
)

// Scheduling results, the values of the result label of gitfleet_scheduling_attempts_total,
// as kube-scheduler's.
const (
	ResultScheduled     = "scheduled"
	ResultUnschedulable = "unschedulable"
	ResultError         = "error"
)

// Agent operations, the values of the operation label of
// gitfleet_agent_operation_duration_seconds.
const (
	OpCreate = "create"
	OpStart  = "start"
	OpStop   = "stop"
)

// Metrics are the collectors the roles feed. Its methods may be called concurrently; a nil
// *Metrics counts nothing.
type Metrics struct {
	syncs           *prometheus.CounterVec
	syncDuration    *prometheus.HistogramVec
	reconcileErrors *prometheus.CounterVec
	gitFetch        prometheus.Histogram
	schedAttempts   *prometheus.CounterVec
	schedDuration   prometheus.Histogram
	agentOps        *prometheus.HistogramVec
	etcd            *prometheus.HistogramVec
	eventsDropped   *prometheus.CounterVec
}

// New registers the collectors on reg and returns them.
func New(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		syncs: f.NewCounterVec(prometheus.CounterOpts{Name: "gitfleet_sync_total",
			Help: "Sync attempts recorded in the history, by result (succeeded, failed)."}, []string{"result"}),
		syncDuration: f.NewHistogramVec(prometheus.HistogramOpts{Name: "gitfleet_sync_duration_seconds",
			Help:    "Duration of the sync attempts recorded in the history, fetch to commit, by result.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10)}, []string{"result"}),
		reconcileErrors: f.NewCounterVec(prometheus.CounterOpts{Name: "gitfleet_reconcile_errors_total",
			Help: "Passes of a controller that failed and will be retried, by controller (sync, scheduler)."}, []string{"controller"}),
		gitFetch: f.NewHistogram(prometheus.HistogramOpts{Name: "gitfleet_git_fetch_duration_seconds",
			Help: "Duration of asking the git remote for the branch head (and fetching it when it moved).", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)}),
		schedAttempts: f.NewCounterVec(prometheus.CounterOpts{Name: "gitfleet_scheduling_attempts_total",
			Help: "Attempts to schedule a Pod, by result (scheduled, unschedulable, error)."}, []string{"result"}),
		schedDuration: f.NewHistogram(prometheus.HistogramOpts{Name: "gitfleet_scheduling_duration_seconds",
			Help: "Duration of a scheduling pass that tried at least one Pod, binds included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}),
		agentOps: f.NewHistogramVec(prometheus.HistogramOpts{Name: "gitfleet_agent_operation_duration_seconds",
			Help:    "Duration of the agent's runtime operations, by operation (create: pull, network and containers of a Pod; start: a container's task; stop: a Pod's removal or a container's kill).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)}, []string{"operation"}),
		etcd: f.NewHistogramVec(prometheus.HistogramOpts{Name: "gitfleet_etcd_request_duration_seconds",
			Help:    "Duration of the etcd requests of this process (not watches), by operation (Range, Txn, Put, LeaseGrant, …).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2.5, 12)}, []string{"op"}),
		eventsDropped: f.NewCounterVec(prometheus.CounterOpts{Name: "gitfleet_events_dropped_total",
			Help: "Events not recorded (the recorder's queue was full, or the write failed), by source."}, []string{"source"}),
	}
}

// SyncResult is the result label of a sync whose history entry says result (api.SyncSynced…).
func SyncResult(result string) string {
	switch result {
	case "Synced":
		return ResultSucceeded
	case "Failed":
		return ResultFailed
	}
	return strings.ToLower(result)
}

// SyncDone counts a sync attempt of result (api.SyncSynced, api.SyncFailed) that took d.
func (m *Metrics) SyncDone(result string, d time.Duration) {
	if m == nil {
		return
	}
	r := SyncResult(result)
	m.syncs.WithLabelValues(r).Inc()
	m.syncDuration.WithLabelValues(r).Observe(d.Seconds())
}

// ReconcileError counts a failed pass of controller.
func (m *Metrics) ReconcileError(controller string) {
	if m != nil {
		m.reconcileErrors.WithLabelValues(controller).Inc()
	}
}

// GitFetch observes a fetch that took d.
func (m *Metrics) GitFetch(d time.Duration) {
	if m != nil {
		m.gitFetch.Observe(d.Seconds())
	}
}

// SchedulingPass counts the attempts of a pass that took d: Pods bound, found to fit nowhere,
// and failed for an error. A pass that tried no Pod is not observed.
func (m *Metrics) SchedulingPass(scheduled, unschedulable, failed int, d time.Duration) {
	if m == nil || scheduled+unschedulable+failed == 0 {
		return
	}
	m.schedAttempts.WithLabelValues(ResultScheduled).Add(float64(scheduled))
	m.schedAttempts.WithLabelValues(ResultUnschedulable).Add(float64(unschedulable))
	m.schedAttempts.WithLabelValues(ResultError).Add(float64(failed))
	m.schedDuration.Observe(d.Seconds())
}

// AgentOperation observes a runtime operation (OpCreate, OpStart, OpStop) that took d.
func (m *Metrics) AgentOperation(op string, d time.Duration) {
	if m != nil {
		m.agentOps.WithLabelValues(op).Observe(d.Seconds())
	}
}

// EventsDropped is the counter of source's dropped events.
func (m *Metrics) EventsDropped(source string) prometheus.Counter {
	if m == nil {
		return nil
	}
	return m.eventsDropped.WithLabelValues(source)
}

// EtcdInterceptor times each unary etcd request of a client dialled with it
// (grpc.WithChainUnaryInterceptor); nil for a nil *Metrics.
func (m *Metrics) EtcdInterceptor() grpc.UnaryClientInterceptor {
	if m == nil {
		return nil
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		m.etcd.WithLabelValues(method[strings.LastIndexByte(method, '/')+1:]).Observe(time.Since(start).Seconds())
		return err
	}
}
