package api

import "time"

// Event types, as in Kubernetes.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Event reasons gitfleet's controllers record.
const (
	ReasonCommitApplied    = "CommitApplied"
	ReasonSyncFailed       = "SyncFailed"
	ReasonCreated          = "Created"
	ReasonPruned           = "Pruned"
	ReasonScheduled        = "Scheduled"
	ReasonFailedScheduling = "FailedScheduling"
	ReasonStarted          = "Started"
	ReasonRestarted        = "Restarted"
	ReasonKilling          = "Killing"
	ReasonBackOff          = "BackOff"
	ReasonNodeNotReady     = "NodeNotReady"
)

// Event sources other than a node's agent (whose source is EventSourceNode of its name).
const (
	EventSourceController = "controller"
	EventSourceScheduler  = "scheduler"
)

// EventSourceNode is the source of the events of node's agent.
func EventSourceNode(node string) string { return "node:" + node }

// Event tells a user what a controller did or saw about an object, as a Kubernetes Event:
// identical events of one source about one object are one Event whose Count grows.
type Event struct {
	Type    string `json:"type"` // Normal or Warning
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Object is the involved object; a cluster-scoped one (a Node) has no namespace.
	Object Key `json:"involvedObject"`
	// Source is who recorded it: controller, scheduler or node:NAME.
	Source    string    `json:"source"`
	Count     int32     `json:"count"`
	FirstTime time.Time `json:"firstTimestamp"`
	LastTime  time.Time `json:"lastTimestamp"`
}

// SameAs reports whether e and o tell the same thing about the same object from the same
// source: the second is counted in the first.
func (e Event) SameAs(o Event) bool {
	return e.Object == o.Object && e.Source == o.Source && e.Type == o.Type && e.Reason == o.Reason && e.Message == o.Message
}
