package dashboard

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/reconciler"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

// Commits reads the manifests of a commit of the source; *source.Git implements it (the
// controller's own, in the wiring, so that the dashboard fetches nothing the controller has).
type Commits interface {
	// Ensure makes an older commit of the branch readable (it may fetch the branch's history).
	Ensure(ctx context.Context, commit string) error
	Files(ctx context.Context, commit string) (map[string][]byte, error)
}

var _ Commits = (*source.Git)(nil)

// DiffView is one diff the page shows: from one commit (or the live state) to another, as
// `gitfleet diff` prints it, or the errors that stop the commit, or a note saying why there is
// no diff.
type DiffView struct {
	From   string           `json:"from,omitempty"`
	To     string           `json:"to,omitempty"`
	Text   string           `json:"text"`
	Errors []api.FieldError `json:"errors,omitempty"`
	Note   string           `json:"note,omitempty"`
}

// diffsOut is GET /api/diff: the last sync's diff and the pending commit's, nil when there is
// no such commit.
type diffsOut struct {
	Last    *DiffView `json:"last"`
	Pending *DiffView `json:"pending"`
}

// diffTimeout bounds computing the diffs, which may fetch an older commit.
const diffTimeout = 30 * time.Second

// diffs computes the diffs on demand (the page asks when the commits it shows change) and
// keeps the last of each, since every browser asks for the same ones.
type diffs struct {
	st      Store
	commits Commits
	rules   api.Rules
	source  string

	mu    sync.Mutex
	cache map[string]*DiffView
}

func newDiffs(st Store, cfg Config) *diffs {
	return &diffs{st: st, commits: cfg.Commits, rules: cfg.Rules, source: cfg.Source, cache: map[string]*DiffView{}}
}

func (s *Server) diff(w http.ResponseWriter, r *http.Request, _ identity) {
	ctx, cancel := contextTimeout(r, diffTimeout)
	defer cancel()
	out, err := s.diffs.get(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// get returns the diff of the last sync (the commit applied before the applied one, to the
// applied one) and of the commit seen but not applied (against the live state, as
// `gitfleet diff` of its tree), computing what it has not yet.
func (d *diffs) get(ctx context.Context) (diffsOut, error) {
	st, err := d.st.GetSync(ctx, d.source)
	if errors.Is(err, store.ErrNotFound) {
		return diffsOut{}, nil
	}
	if err != nil {
		return diffsOut{}, err
	}
	hist, err := d.st.ListHistory(ctx, d.source)
	if err != nil {
		return diffsOut{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out diffsOut
	if st.AppliedCommit != "" {
		prev := previousApplied(hist, st.AppliedCommit)
		out.Last = d.cached("last "+prev+" "+st.AppliedCommit, func() *DiffView { return d.last(ctx, prev, st.AppliedCommit) })
	}
	if st.SeenCommit != "" && st.SeenCommit != st.AppliedCommit {
		out.Pending = d.cached("pending "+st.SeenCommit+" "+st.AppliedCommit, func() *DiffView { return d.pending(ctx, st.SeenCommit) })
	}
	return out, nil
}

// maxCachedDiffs bounds the diffs kept: the page shows two.
const maxCachedDiffs = 8

// cached returns the diff kept under key, or computes and keeps it; d.mu is held.
func (d *diffs) cached(key string, compute func() *DiffView) *DiffView {
	if v, ok := d.cache[key]; ok {
		return v
	}
	v := compute()
	if len(d.cache) >= maxCachedDiffs {
		clear(d.cache)
	}
	d.cache[key] = v
	return v
}

// previousApplied is the commit the last sync of applied started from: the latest commit
// before it in the history that synced and differs from it; "" when there is none.
func previousApplied(hist []api.HistoryEntry, applied string) string {
	i := len(hist) - 1
	for i >= 0 && !(hist[i].Result == api.SyncSynced && hist[i].Commit.Hash == applied) {
		i--
	}
	for i--; i >= 0; i-- {
		if e := hist[i]; e.Result == api.SyncSynced && e.Commit.Hash != "" && e.Commit.Hash != applied {
			return e.Commit.Hash
		}
	}
	return ""
}

// last is the diff from prev ("" for nothing) to applied.
func (d *diffs) last(ctx context.Context, prev, applied string) *DiffView {
	v := &DiffView{From: prev, To: applied}
	if d.commits == nil {
		v.Note = "this process reads no git source"
		return v
	}
	var before map[string][]byte
	if prev != "" {
		if before = d.read(ctx, prev, v); before == nil {
			return v
		}
	}
	files := d.read(ctx, applied, v)
	if files == nil {
		return v
	}
	cs, errs := reconciler.DiffFiles(before, files, d.rules)
	return render(v, cs, errs)
}

// pending is the diff of commit against the live state.
func (d *diffs) pending(ctx context.Context, commit string) *DiffView {
	v := &DiffView{From: "live", To: commit}
	if d.commits == nil {
		v.Note = "this process reads no git source"
		return v
	}
	files := d.read(ctx, commit, v)
	if files == nil {
		return v
	}
	cs, errs, err := reconciler.DryRun(ctx, d.st, files, d.rules)
	if err != nil {
		v.Note = err.Error()
		return v
	}
	return render(v, cs, errs)
}

// read reads the manifests of commit; nil when it cannot, with why in v: the errors of files
// that break the limits, or a note.
func (d *diffs) read(ctx context.Context, commit string, v *DiffView) map[string][]byte {
	err := d.commits.Ensure(ctx, commit)
	var files map[string][]byte
	if err == nil {
		files, err = d.commits.Files(ctx, commit)
	}
	if fe, ok := source.AsFileErrors(err); ok {
		v.Errors = fe
		return nil
	}
	if err != nil {
		v.Note = "read " + api.ShortHash(commit) + ": " + err.Error()
		return nil
	}
	if files == nil {
		files = map[string][]byte{}
	}
	return files
}

// render fills v with the text of cs, or with errs when there are any.
func render(v *DiffView, cs reconciler.ChangeSet, errs []api.FieldError) *DiffView {
	if len(errs) > 0 {
		v.Errors = errs
		return v
	}
	var b bytes.Buffer
	if err := reconciler.RenderUnified(&b, cs, false); err != nil {
		v.Note = err.Error()
		return v
	}
	v.Text = b.String()
	if v.Text == "" {
		v.Note = "no change"
	}
	return v
}
