package reconciler

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

// This file keeps what one pass learned for the next, so that a commit that changes one file of
// a large repository costs about one file: the controller decodes only the files whose git blob
// changed (fileCache) and only the live values that changed (liveCache), and compares objects by
// canonical forms computed once. What both caches hold is a pure function of what they are
// keyed by (a blob at a path; a key's stored value, named by its revision), so a pass decides
// the same with or without them (TestCachedPassesMatchUncached).

// fileCache holds what api.LoadFile made of each manifest file of the last commit listed, by
// path, with the file's blob hash. Its zero value is empty.
type fileCache struct {
	files map[string]cachedFile
}

// cachedFile is one loaded manifest file with the canonical form of each of its objects (none
// when the file has errors: such a commit is never diffed).
type cachedFile struct {
	api.LoadedFile
	blob  string
	canon [][]byte
}

// blobs returns the blob hash of each cached file by path, for Repo.Manifests.
func (fc *fileCache) blobs() map[string]string {
	out := make(map[string]string, len(fc.files))
	for name, f := range fc.files {
		out[name] = f.blob
	}
	return out
}

// update makes the cache hold the files of m: it loads the files m read and keeps the others,
// which m names by a blob the cache holds; it drops the files m does not list.
func (fc *fileCache) update(m source.Manifests) error {
	var read []string
	next := make(map[string]cachedFile, len(m.Blobs))
	for name, blob := range m.Blobs {
		if !api.IsManifestFile(name) {
			continue
		}
		if _, ok := m.Files[name]; ok {
			read = append(read, name)
			continue
		}
		f, ok := fc.files[name]
		if !ok || f.blob != blob {
			return fmt.Errorf("read %s: blob %s is neither known nor read", name, api.ShortHash(blob))
		}
		next[name] = f
	}
	loaded := make([]cachedFile, len(read))
	parallel(len(read), func(i int) {
		loaded[i] = loadFile(read[i], m.Blobs[read[i]], m.Files[read[i]])
	})
	for _, f := range loaded {
		next[f.Name] = f
	}
	fc.files = next
	return nil
}

// loadFile loads one manifest file and, when it has no errors, computes its canonical forms.
func loadFile(name, blob string, data []byte) cachedFile {
	f := cachedFile{LoadedFile: api.LoadFile(name, data), blob: blob}
	if len(f.Errors) == 0 {
		f.canon = make([][]byte, len(f.Objects))
		for i, d := range f.Objects {
			f.canon[i] = canonicalJSON(d.Object)
		}
	}
	return f
}

// load returns the objects of the cached files as api.LoadSet orders them, annotated with commit
// (see desiredObjects), with their canonical forms; or the errors of the set under rules, when
// it has any.
func (fc *fileCache) load(commit string, rules api.Rules) ([]api.Object, [][]byte, []api.FieldError) {
	names := slices.Sorted(maps.Keys(fc.files))
	files := make([]api.LoadedFile, len(names))
	var canon [][]byte
	for i, name := range names {
		files[i] = fc.files[name].LoadedFile
		canon = append(canon, fc.files[name].canon...)
	}
	decoded, errs := rules.JoinFiles(files)
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return desiredObjects(decoded, commit), canon, nil
}

// desiredObjects returns copies of the decoded objects annotated with their commit (when known)
// and source. The decoded objects are left as they are, so that they can be annotated again for
// another commit.
func desiredObjects(decoded []api.Decoded, commit string) []api.Object {
	out := make([]api.Object, 0, len(decoded))
	for _, d := range decoded {
		obj := shallowCopy(d.Object)
		m := obj.GetMeta()
		ann := make(map[string]string, len(m.Annotations)+2)
		maps.Copy(ann, m.Annotations)
		if commit != "" {
			ann[api.AnnotationCommit] = commit
		}
		ann[api.AnnotationSource] = d.Source()
		m.Annotations = ann
		out = append(out, obj)
	}
	return out
}

// shallowCopy returns a new object of obj's type holding a copy of *obj: the fields are copied,
// what they point to is shared.
func shallowCopy(obj api.Object) api.Object {
	v := reflect.ValueOf(obj).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	return c.Interface().(api.Object)
}

// liveCache holds the live desired objects of the last pass, by key, with the value and the
// revision each was decoded from and its canonical form, computed when first needed. Its zero
// value is empty.
type liveCache struct {
	entries map[api.Key]*liveEntry
	// rev is the store revision of the last list.
	rev int64
}

type liveEntry struct {
	value []byte
	obj   api.Object
	// modRev is the revision value was written at; 0 until a list saw it (an entry of wrote).
	modRev int64
	// canon is the canonical form of obj, valid once hasCanon; nil when obj is nil or cannot be
	// encoded.
	canon    []byte
	hasCanon bool
}

// list reads the live desired objects as store.ListDesired does. It lists the keys with their
// revisions; when the cache lacks the revision of some, it reads the values from the first of
// them to the last at the same revision, and decodes those it does not hold.
func (lc *liveCache) list(ctx context.Context, st *store.Store) (map[api.Key]store.DesiredObject, error) {
	keys, rev, err := st.DesiredRevisions(ctx)
	if err != nil {
		return nil, err
	}
	if rev < lc.rev {
		lc.entries = nil // the store went back in time (restored): its revisions name other values
	}
	lc.rev = rev
	var moved []store.RawDesired
	for _, r := range keys {
		if e := lc.entries[r.Key]; e == nil || e.modRev != r.ModRevision {
			moved = append(moved, r)
		}
	}
	if err := lc.read(ctx, st, moved, rev); err != nil {
		return nil, err
	}
	next := make(map[api.Key]*liveEntry, len(keys))
	live := make(map[api.Key]store.DesiredObject, len(keys))
	for _, r := range keys {
		e := lc.entries[r.Key]
		next[r.Key] = e
		live[r.Key] = store.DesiredObject{Object: e.obj, ModRevision: r.ModRevision}
	}
	lc.entries = next
	return live, nil
}

// read brings the entries of moved, keys listed in store order with their revisions, to their
// values at rev.
func (lc *liveCache) read(ctx context.Context, st *store.Store, moved []store.RawDesired, rev int64) error {
	if len(moved) == 0 {
		return nil
	}
	raw, err := st.ListDesiredRawBetween(ctx, moved[0].Key, moved[len(moved)-1].Key, rev)
	if err != nil {
		return err
	}
	if lc.entries == nil {
		lc.entries = map[api.Key]*liveEntry{}
	}
	for _, r := range raw {
		e := lc.entries[r.Key]
		switch {
		case e != nil && e.modRev == r.ModRevision:
		case e != nil && bytes.Equal(e.value, r.Value):
			e.modRev = r.ModRevision
		default:
			obj := store.DecodeDesired(r.Key, r.Value)
			lc.entries[r.Key] = &liveEntry{value: r.Value, obj: obj, modRev: r.ModRevision}
		}
	}
	for _, m := range moved {
		if e := lc.entries[m.Key]; e == nil || e.modRev != m.ModRevision {
			return fmt.Errorf("list desired: %s at revision %d: not found", m.Key, rev)
		}
	}
	return nil
}

// canonical returns the canonical form of the live object at k as of the last list; nil when
// there is none, it could not be decoded or it cannot be encoded.
func (lc *liveCache) canonical(k api.Key) []byte {
	e := lc.entries[k]
	if e == nil {
		return nil
	}
	if !e.hasCanon {
		if e.obj != nil {
			e.canon = canonicalJSON(e.obj)
		}
		e.hasCanon = true
	}
	return e.canon
}

// wrote records the values that cs, applied from target, stored, so that the next list finds
// them decoded.
func (lc *liveCache) wrote(cs ChangeSet, target loaded) {
	written := map[api.Key]bool{}
	for _, ch := range cs.Changes {
		switch ch.Action {
		case Create, Update:
			written[ch.Key] = true
		case Delete:
			delete(lc.entries, ch.Key)
		}
	}
	var idx []int
	for i, obj := range target.objects {
		if written[api.KeyOf(obj)] {
			idx = append(idx, i)
		}
	}
	entries := make([]*liveEntry, len(idx))
	parallel(len(idx), func(j int) {
		i := idx[j]
		entries[j] = writtenEntry(target.objects[i], target.canon[i])
	})
	if lc.entries == nil {
		lc.entries = map[api.Key]*liveEntry{}
	}
	for j, e := range entries {
		if k := api.KeyOf(target.objects[idx[j]]); e != nil {
			lc.entries[k] = e
		} else {
			delete(lc.entries, k)
		}
	}
}

// writtenEntry is the entry of obj as the store holds it once written, or nil when obj
// cannot be encoded. canon is obj's canonical form, which is a function of obj's encoding: when
// the decoded value encodes back to the same bytes, as gitfleet's types do, canon is its form
// too; otherwise its form is computed when needed.
func writtenEntry(obj api.Object, canon []byte) *liveEntry {
	value, err := store.EncodeDesired(obj)
	if err != nil {
		return nil
	}
	e := &liveEntry{value: value, obj: store.DecodeDesired(api.KeyOf(obj), value)}
	if e.obj == nil {
		e.hasCanon = true
		return e
	}
	if again, err := store.EncodeDesired(e.obj); err == nil && bytes.Equal(again, value) {
		e.canon, e.hasCanon = canon, true
	}
	return e
}

// parallel calls f(0) to f(n-1) on up to GOMAXPROCS goroutines and returns when all returned. A
// panic in f is raised again in the caller, where a pass recovers it.
func parallel(n int, f func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	panics := make([]any, workers)
	for w := range workers {
		wg.Go(func() {
			defer func() { panics[w] = recover() }()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(i)
			}
		})
	}
	wg.Wait()
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
}
