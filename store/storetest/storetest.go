// Package storetest writes and reads raw values behind the store's back, as an operator with
// etcdctl could: tests use it to inject drift, garbage and deletions. Production code never
// imports it.
package storetest

import (
	"context"
	"testing"

	"github.com/gitfleet/gitfleet/store"
)

// Put writes value at the key of name under r (for store.Desired, name is api.Key.String()), bypassing every check, and returns the revision.
func Put(t testing.TB, st *store.Store, r store.Resource, name, value string) int64 {
	t.Helper()
	resp, err := st.Client().Put(context.Background(), store.Key(r, name), value)
	if err != nil {
		t.Fatalf("put %s/%s: %v", r, name, err)
	}
	return resp.Header.Revision
}

// Delete deletes the key of name under r, bypassing every check.
func Delete(t testing.TB, st *store.Store, r store.Resource, name string) {
	t.Helper()
	if _, err := st.Client().Delete(context.Background(), store.Key(r, name)); err != nil {
		t.Fatalf("delete %s/%s: %v", r, name, err)
	}
}

// Get reads the raw value of name under r; ok is false when the key does not exist.
func Get(t testing.TB, st *store.Store, r store.Resource, name string) (value string, ok bool) {
	t.Helper()
	resp, err := st.Client().Get(context.Background(), store.Key(r, name))
	if err != nil {
		t.Fatalf("get %s/%s: %v", r, name, err)
	}
	if len(resp.Kvs) == 0 {
		return "", false
	}
	return string(resp.Kvs[0].Value), true
}
