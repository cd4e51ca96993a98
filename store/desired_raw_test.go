package store_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/internal/etcdtest"
	"github.com/gitfleet/gitfleet/store"
	"github.com/gitfleet/gitfleet/store/storetest"
)

// The raw reads list what ListDesired lists: the same keys and revisions, values that decode to
// the same objects, and the bytes EncodeDesired predicts for a written object.
func TestDesiredRawReadsMatchListDesired(t *testing.T) {
	ctx := context.Background()
	s := etcdtest.Start(t)
	var writes []store.Write
	for _, name := range []string{"a", "b", "c", "d"} {
		d := deployment(name, 1)
		writes = append(writes, store.Write{Key: api.KeyOf(d), Object: d})
	}
	if _, err := s.CommitSync(ctx, store.SyncRecord{Writes: writes, Status: api.SyncStatus{Source: "default"}}); err != nil {
		t.Fatal(err)
	}
	storetest.Put(t, s, store.Desired, "Deployment/default/e", "not json")
	want, rev, err := s.ListDesired(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys, krev, err := s.DesiredRevisions(ctx)
	if err != nil || krev != rev || len(keys) != len(want) {
		t.Fatalf("revisions: %d keys at %d, %v; want %d at %d", len(keys), krev, err, len(want), rev)
	}
	for _, k := range keys {
		if k.Value != nil || k.ModRevision != want[k.Key].ModRevision {
			t.Fatalf("key %s: %+v, want revision %d and no value", k.Key, k, want[k.Key].ModRevision)
		}
	}
	// b to d, read at rev after b changed: the old b.
	b := deployment("b", 7)
	if _, err := s.CommitSync(ctx, store.SyncRecord{Writes: []store.Write{{Key: api.KeyOf(b), Object: b,
		ModRevision: want[api.KeyOf(b)].ModRevision}}, Status: api.SyncStatus{Source: "default"}}); err != nil {
		t.Fatal(err)
	}
	raw, err := s.ListDesiredRawBetween(ctx, keys[1].Key, keys[3].Key, rev)
	if err != nil || len(raw) != 3 || raw[0].Key != keys[1].Key || raw[2].Key != keys[3].Key {
		t.Fatalf("between %s and %s: %+v, %v", keys[1].Key, keys[3].Key, raw, err)
	}
	for i, r := range raw {
		w := writes[i+1]
		enc, err := store.EncodeDesired(w.Object)
		if err != nil || !bytes.Equal(enc, r.Value) || r.ModRevision != want[r.Key].ModRevision {
			t.Fatalf("%s: stored %s at %d, encoded %s", r.Key, r.Value, r.ModRevision, enc)
		}
		if got := *store.DecodeDesired(r.Key, r.Value).(*api.Deployment).Spec.Replicas; got != 1 {
			t.Fatalf("%s: replicas %d at revision %d, want 1", r.Key, got, rev)
		}
	}
	if obj := store.DecodeDesired(api.Key{Kind: api.KindDeployment, Namespace: "default", Name: "e"}, []byte("not json")); obj != nil {
		t.Fatalf("undecodable value decoded to %v", obj)
	}
}
