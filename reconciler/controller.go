package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Repo is what the controller needs of a git source; *Source implements it.
type Repo interface {
	// Config describes the source; PollInterval sets the controller's pace.
	Config() SourceConfig
	// Fetch returns the branch's head commit, fetching it when the remote moved.
	Fetch(ctx context.Context) (string, error)
	// Files returns the manifests at commit, or FileErrors when a file breaks a rule.
	Files(ctx context.Context, commit string) (map[string][]byte, error)
}

var _ Repo = (*Source)(nil)

// Options tune a Controller; zero values take defaults.
type Options struct {
	// Name is the sync source's name in etcd; "" means "default".
	Name string
	// Now is the clock of status times; nil means time.Now.
	Now func() time.Time
	// PassTimeout bounds one pass in Run; 0 means two minutes.
	PassTimeout time.Duration
}

// maxConflictRetries bounds how often one pass re-reads etcd after losing a compare-and-swap.
const maxConflictRetries = 5

// Controller makes the desired keys in etcd follow one git source. A pass fetches, loads and
// validates the whole commit, diffs it against etcd and applies the change set with the sync
// status in one transaction. A commit with any error changes nothing but the status; a fetch
// error changes nothing at all. Passes are serialized.
//
// A commit whose Path holds no manifests is applied like any other: it prunes every object.
// (A later change adds a threshold above which pruning needs an explicit flag.) A Path missing
// from the commit is an error instead, so a typo or a deleted directory prunes nothing; keep a
// .gitkeep to mean "run nothing".
type Controller struct {
	st      *store.Store
	repo    Repo
	log     *slog.Logger
	opts    Options
	trigger chan struct{}

	mu     sync.Mutex
	passes int
	// seen is the last commit read from git; want is the last one that loaded cleanly, whose
	// objects are the desired state (a bad commit after it leaves want in place).
	seen, want loaded
}

// loaded is one commit read from git: its objects, annotated, or its errors.
type loaded struct {
	commit  string
	objects []api.Object
	errs    []api.FieldError
}

// New returns a controller of repo's manifests (log nil discards); it does nothing until
// SyncOnce or Run.
func New(st *store.Store, repo Repo, log *slog.Logger, opts Options) *Controller {
	if opts.Name == "" {
		opts.Name = "default"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PassTimeout <= 0 {
		opts.PassTimeout = 2 * time.Minute
	}
	if log == nil {
		log = discardLogger()
	}
	return &Controller{st: st, repo: repo, log: log.With("source", opts.Name), opts: opts,
		trigger: make(chan struct{}, 1)}
}

// Trigger asks Run for a pass now, as a push hook would; it never blocks.
func (c *Controller) Trigger() {
	select {
	case c.trigger <- struct{}{}:
	default:
	}
}

// SyncOnce runs one pass: fetch, load and validate the commit when it moved, then diff the
// desired state against etcd and apply it. The diff runs even when the commit did not move,
// which reverts drift. It returns the sync status as recorded.
func (c *Controller) SyncOnce(ctx context.Context) (api.SyncStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	log := c.passLog()
	commit, err := c.repo.Fetch(ctx)
	if err != nil {
		c.recordFetchError(ctx, log, err)
		return api.SyncStatus{}, fmt.Errorf("sync %s: %w", c.opts.Name, err)
	}
	if commit != c.seen.commit {
		if err := c.load(ctx, log, commit); err != nil {
			return api.SyncStatus{}, err
		}
	}
	return c.apply(ctx, log)
}

// Resync diffs the desired state already loaded against etcd and applies it, without asking git;
// Run calls it when a desired key changes, so drift is reverted within a second. Before the
// first successful SyncOnce it does nothing.
func (c *Controller) Resync(ctx context.Context) (api.SyncStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen.commit == "" {
		return api.SyncStatus{}, nil
	}
	return c.apply(ctx, c.passLog())
}

func (c *Controller) passLog() *slog.Logger {
	c.passes++
	return c.log.With("pass", c.passes)
}

// load reads and validates commit into c.seen, and into c.want when it is good.
func (c *Controller) load(ctx context.Context, log *slog.Logger, commit string) error {
	files, err := c.repo.Files(ctx, commit)
	fe, bad := fileErrors(err)
	if err != nil && !bad {
		return fmt.Errorf("sync %s: %w", c.opts.Name, err)
	}
	var decoded []api.Decoded
	errs := []api.FieldError(fe)
	if !bad {
		decoded, errs = api.LoadSet(files)
	}
	if len(errs) > 0 {
		log.Warn("commit rejected", "commit", short(commit), "errors", len(errs), "first", errs[0].Error())
		c.seen = loaded{commit: commit, errs: errs}
		return nil
	}
	c.seen = loaded{commit: commit, objects: desiredObjects(decoded, commit)}
	c.want = c.seen
	log.Info("commit loaded", "commit", short(commit), "files", len(files), "objects", len(decoded))
	return nil
}

// desiredObjects returns the decoded objects annotated with their commit (when known) and source.
func desiredObjects(decoded []api.Decoded, commit string) []api.Object {
	out := make([]api.Object, 0, len(decoded))
	for _, d := range decoded {
		m := d.Object.GetMeta()
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		if commit != "" {
			m.Annotations[api.AnnotationCommit] = commit
		}
		m.Annotations[api.AnnotationSource] = d.Source()
		out = append(out, d.Object)
	}
	return out
}

// apply diffs c.want against etcd and commits the changes with the status, retrying lost
// compare-and-swaps. Without a good commit it records the status only.
func (c *Controller) apply(ctx context.Context, log *slog.Logger) (api.SyncStatus, error) {
	prev, err := c.readStatus(ctx)
	if err != nil {
		return api.SyncStatus{}, err
	}
	if c.want.commit == "" {
		st := c.status(prev, ChangeSet{})
		return st, c.putStatus(ctx, prev, st)
	}
	for attempt := 1; ; attempt++ {
		live, _, err := c.st.ListDesired(ctx)
		if err != nil {
			return prev, fmt.Errorf("sync %s: %w", c.opts.Name, err)
		}
		cs := Diff(c.want.objects, live)
		st := c.status(prev, cs)
		if cs.Empty() && sameStatus(prev, st) {
			return prev, nil
		}
		err = c.st.CommitDesired(ctx, cs.Writes(), st)
		if err == nil {
			logChanges(log, prev, st, cs)
			return st, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == maxConflictRetries {
			return prev, fmt.Errorf("sync %s: apply commit %s: %w", c.opts.Name, short(c.want.commit), err)
		}
		log.Info("apply lost a compare-and-swap; retrying", "attempt", attempt)
	}
}

// readStatus returns the recorded status, or a zero one before the first sync.
func (c *Controller) readStatus(ctx context.Context) (api.SyncStatus, error) {
	st, err := c.st.GetSync(ctx, c.opts.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return st, fmt.Errorf("sync %s: %w", c.opts.Name, err)
	}
	return st, nil
}

// putStatus writes st unless it says what prev already says.
func (c *Controller) putStatus(ctx context.Context, prev, st api.SyncStatus) error {
	if sameStatus(prev, st) {
		return nil
	}
	if err := c.st.PutSync(ctx, st); err != nil {
		return fmt.Errorf("sync %s: %w", c.opts.Name, err)
	}
	return nil
}

// status is the record of a pass that plans cs.
func (c *Controller) status(prev api.SyncStatus, cs ChangeSet) api.SyncStatus {
	cfg := c.repo.Config()
	st := api.SyncStatus{
		Source: c.opts.Name, Branch: cfg.Branch, Path: cfg.Path,
		SeenCommit: c.seen.commit, AppliedCommit: c.want.commit,
		Sync: api.SyncSynced, Errors: []api.FieldError{}, Changes: cs.Summary(),
		Time: c.opts.Now().UTC().Format(time.RFC3339),
	}
	if c.want.commit == "" {
		st.AppliedCommit = prev.AppliedCommit
	}
	if len(c.seen.errs) > 0 {
		st.Sync, st.Errors = api.SyncFailed, c.seen.errs
		st.Message = fmt.Sprintf("commit %s has %d errors; nothing from it was applied", short(c.seen.commit), len(c.seen.errs))
	}
	return st
}

// recordFetchError marks the status Failed with the fetch error, keeping everything else.
func (c *Controller) recordFetchError(ctx context.Context, log *slog.Logger, ferr error) {
	log.Warn("fetch failed; keeping the applied state", "err", ferr)
	prev, err := c.readStatus(ctx)
	if err != nil {
		log.Warn("read sync status", "err", err)
		return
	}
	st := prev
	st.Source, st.Sync = c.opts.Name, api.SyncFailed
	st.Message = "fetch failed: " + ferr.Error()
	st.Time = c.opts.Now().UTC().Format(time.RFC3339)
	if st.Errors == nil {
		st.Errors = []api.FieldError{}
	}
	if err := c.putStatus(ctx, prev, st); err != nil {
		log.Warn("record fetch error", "err", err)
	}
}

// sameStatus compares what a status says, ignoring its time and change counts, so that a pass
// that changes nothing writes nothing.
func sameStatus(a, b api.SyncStatus) bool {
	return a.Source == b.Source && a.Branch == b.Branch && a.Path == b.Path &&
		a.SeenCommit == b.SeenCommit && a.AppliedCommit == b.AppliedCommit &&
		a.Sync == b.Sync && a.Message == b.Message && slices.Equal(a.Errors, b.Errors)
}

// logChanges logs an applied change set, one line per written object.
func logChanges(log *slog.Logger, prev, st api.SyncStatus, cs ChangeSet) {
	s := cs.Summary()
	log = log.With("commit", short(st.AppliedCommit))
	drift := prev.AppliedCommit == st.AppliedCommit && prev.Sync != "" && !cs.Empty()
	for _, ch := range cs.Changes {
		if ch.Action == Unchanged {
			continue
		}
		if drift {
			log.Warn("reverted drift", "action", ch.Action.String(), "object", ch.Key.String())
			continue
		}
		log.Info("change", "action", ch.Action.String(), "object", ch.Key.String())
	}
	log.Info("sync result", "sync", st.Sync, "created", s.Created, "updated", s.Updated,
		"deleted", s.Deleted, "unchanged", s.Unchanged)
}
