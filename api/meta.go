package api

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Labels and annotations gitfleet sets on the objects it derives.
const (
	// AnnotationCommit records the git commit an object was applied from.
	AnnotationCommit = "gitfleet.io/commit"
	// AnnotationSource records the file (relative to the repo) and line an object came from.
	AnnotationSource = "gitfleet.io/source"
	// AnnotationOwner names the object that created a Pod, as "Kind/namespace/name".
	AnnotationOwner = "gitfleet.io/owner"
	// LabelTemplateHash is the hash of the Pod template a workload Pod was made from, combined
	// with the data of the ConfigMaps the template references.
	LabelTemplateHash = "pod-template-hash"
	// AnnotationConfigHash is the hash of the data of the ConfigMaps a Pod references, as the
	// workload controller saw it; a Pod is replaced when it changes.
	AnnotationConfigHash = "gitfleet.io/config-hash"
)

// Sync results.
const (
	SyncSynced    = "Synced"
	SyncOutOfSync = "OutOfSync"
	SyncFailed    = "Failed"
)

// FieldError is one problem found in a manifest, located by file, line and field path.
type FieldError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// Error renders "file:line: field: message", quoting file and field when they could forge
// output (QuoteName).
func (e FieldError) Error() string {
	s := fmt.Sprintf("%s:%d: ", QuoteName(e.File), e.Line)
	if e.Field != "" {
		s += QuoteName(e.Field) + ": "
	}
	return s + e.Message
}

// QuoteName returns s, a file name or field path from a repository, Go-quoted when it holds a
// control character or invalid UTF-8: a newline or an escape sequence in a name would
// otherwise print as a line or a color of its own.
func QuoteName(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strconv.Quote(s)
}

// ChangeSummary counts the actions of one sync.
type ChangeSummary struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Deleted   int `json:"deleted"`
	Unchanged int `json:"unchanged"`
}

// SyncStatus is the controller's record of one git source.
type SyncStatus struct {
	Source        string        `json:"source"`
	Branch        string        `json:"branch,omitempty"`
	Path          string        `json:"path,omitempty"`
	SeenCommit    string        `json:"seenCommit"`
	AppliedCommit string        `json:"appliedCommit"`
	Sync          string        `json:"sync"`
	Message       string        `json:"message,omitempty"`
	Errors        []FieldError  `json:"errors"`
	Changes       ChangeSummary `json:"changes"`
	// Time is the RFC 3339 time of the last sync attempt.
	Time string `json:"time,omitempty"`
	// Commit describes AppliedCommit (author, message, time).
	Commit CommitInfo `json:"commit"`
	// PinnedCommit is set while a rollback holds the source at that commit.
	PinnedCommit string `json:"pinnedCommit,omitempty"`
	// PinReason says why an automatic rollback pinned the source; "" for a pin set by hand.
	PinReason string `json:"pinReason,omitempty"`
	// RollbackOnFailure names the Deployments of the applied commit ("web", "ns/web") whose
	// rollout rolls the source back when it misses its progress deadline.
	RollbackOnFailure []string `json:"rollbackOnFailure,omitempty"`
	// AutoRollback is the automatic rollback's decision about the applied commit, or about
	// the commit it replaced while its pin holds; nil when there was none.
	AutoRollback *RollbackNote `json:"autoRollback,omitempty"`
	// RequestID is the ID of the last SyncRequest this status answers.
	RequestID string `json:"requestID,omitempty"`
	// RequestRevision is the store revision the answered request was written at. A requester
	// whose request was written at revision R has its answer once RequestRevision >= R: a later
	// request replaces an earlier one, and the pass that answers it fetched after both.
	RequestRevision int64 `json:"requestRevision,omitempty"`
}

// HasLabels reports whether labels hold every key of want with its value: how a nodeSelector,
// a Service's selector and matchLabels select (an empty want selects everything).
func HasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
