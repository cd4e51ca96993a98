package dashboard

import (
	"cmp"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// maxEvents bounds the events a State carries: the page shows what happened lately;
// `gitfleet events` shows the whole hour.
const maxEvents = 50

// newestFirst orders events by last time, newest first; ties by object, reason and source, so
// that one set of events always gives one State.
func newestFirst(a, b api.Event) int {
	return cmp.Or(b.LastTime.Compare(a.LastTime), strings.Compare(a.Object.String(), b.Object.String()),
		strings.Compare(a.Reason, b.Reason), strings.Compare(a.Source, b.Source), strings.Compare(a.Message, b.Message))
}

// eventViews are the newest maxEvents of items, newest first, and the reason of each object's
// newest event when that is a Warning: a Warning followed by a Normal event (FailedScheduling,
// then Scheduled) is over.
func eventViews(items []store.Item[api.Event]) (newest []api.Event, warnings map[api.Key]string) {
	all := make([]api.Event, len(items))
	for i, it := range items {
		all[i] = it.Value
	}
	slices.SortFunc(all, newestFirst)
	warnings = map[api.Key]string{}
	seen := map[api.Key]bool{}
	for _, e := range all {
		if seen[e.Object] {
			continue
		}
		seen[e.Object] = true
		if e.Type == api.EventWarning {
			warnings[e.Object] = e.Reason
		}
	}
	return all[:min(len(all), maxEvents)], warnings
}
