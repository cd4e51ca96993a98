package store

import (
	"fmt"
	"strings"

	"github.com/gitfleet/gitfleet/api"
)

// Resource names one key prefix of the layout.
type Resource string

// The resources of the key layout.
const (
	Desired   Resource = "desired"
	Sync      Resource = "sync"
	Pods      Resource = "pods"
	PodStatus Resource = "podstatus"
	Nodes     Resource = "nodes"
	History   Resource = "history"
	// HistorySeq holds the last history ID of each source.
	HistorySeq  Resource = "historyseq"
	Pin         Resource = "pin"
	Health      Resource = "health"
	SyncRequest Resource = "syncrequest"
)

const root = "/gitfleet/"

func prefix(r Resource) string { return root + string(r) + "/" }

// desiredKey is the key of k: its String, kind/namespace/name, under Desired.
func desiredKey(k api.Key) string { return prefix(Desired) + k.String() }

func podKey(namespace, name string) string { return prefix(Pods) + namespace + "/" + name }

func podStatusKey(namespace, name string) string {
	return prefix(PodStatus) + namespace + "/" + name
}

func nodeKey(name string) string { return prefix(Nodes) + name }

func syncKey(source string) string { return prefix(Sync) + source }

func healthKey(source string) string { return prefix(Health) + source }

func pinKey(source string) string { return prefix(Pin) + source }

func syncRequestKey(source string) string { return prefix(SyncRequest) + source }

func historySeqKey(source string) string { return prefix(HistorySeq) + source }

// historyKey zero-pads id, so that the keys of a source sort in the order of their IDs.
func historyKey(source string, id int64) string {
	return fmt.Sprintf("%s%s/%020d", prefix(History), source, id)
}

// parseDesiredKey turns a desired key back into an api.Key.
func parseDesiredKey(key string) (api.Key, error) {
	parts := strings.Split(strings.TrimPrefix(key, prefix(Desired)), "/")
	if len(parts) != 3 {
		return api.Key{}, fmt.Errorf("parse desired key %q: want kind/namespace/name", key)
	}
	return api.Key{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, nil
}

// relName strips a resource's prefix, leaving "namespace/name" or "name".
func relName(r Resource, key string) string { return strings.TrimPrefix(key, prefix(r)) }

// Key is the etcd key of name under r, for tools and tests that read or write behind the
// store's back (package storetest); gitfleet's own loops go through the typed methods.
func Key(r Resource, name string) string { return prefix(r) + name }
