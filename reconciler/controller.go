package reconciler

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

// Repo is what the controller needs of a git source; *source.Git implements it.
type Repo interface {
	// Config describes the source; PollInterval sets the controller's pace.
	Config() source.Config
	// Fetch returns the branch's head commit, fetching it when the remote moved.
	Fetch(ctx context.Context) (string, error)
	// Ensure makes commit, an older commit of the branch, available to Manifests and Commit, for
	// a rollback to it.
	Ensure(ctx context.Context, commit string) error
	// Manifests returns the manifests at commit, each named by its blob hash, with the contents
	// of those whose blob known (path to blob hash) does not name; source.FileErrors when a file breaks
	// a rule.
	Manifests(ctx context.Context, commit string, known map[string]string) (source.Manifests, error)
	// Commit describes a fetched commit: author, first line of the message, time.
	Commit(ctx context.Context, hash string) (api.CommitInfo, error)
}

var _ Repo = (*source.Git)(nil)

// Options tune a Controller; zero values take defaults.
type Options struct {
	// Name is the sync source's name in etcd; "" means "default".
	Name string
	// Now is the clock of status times; nil means time.Now.
	Now func() time.Time
	// PassTimeout bounds one pass in Run; 0 means two minutes.
	PassTimeout time.Duration
	// PruneLimit is the share of the live desired objects one sync of a new commit may delete:
	// a sync that deletes more, or every object, is refused (see checkPrune). 0 means 0.5.
	PruneLimit float64
	// AllowMassPrune lifts PruneLimit for every sync. A SyncRequest with AllowMassPrune lifts it
	// for one sync, and the annotation gitfleet.io/allow-mass-prune: "true" on any object of a
	// commit for that commit.
	AllowMassPrune bool
	// DisableSelfHeal leaves a desired key changed outside git as it is: the status says
	// OutOfSync and names the keys, and the next commit or SyncRequest reverts them. By default
	// drift is reverted at once.
	DisableSelfHeal bool
	// HistoryLimit is how many history entries of the source to keep; 0 means
	// store.DefaultHistoryLimit.
	HistoryLimit int
	// Rules are the cluster's settings a commit is validated against (the service CIDR);
	// the zero Rules are the defaults.
	Rules api.Rules
	// AutoRollback makes every Deployment roll back on failure (see CheckRollout) unless its
	// annotation gitfleet.io/rollback-on-failure says "false"; without it only those whose
	// annotation says "true" do.
	AutoRollback bool
	// Events records commits applied, syncs failed, objects created and pruned; nil records
	// none. Metrics counts sync attempts and failed passes; nil counts none (see observe.go).
	Events  EventRecorder
	Metrics Metrics
}

// maxConflictRetries bounds how often one pass re-reads etcd after losing a compare-and-swap.
const maxConflictRetries = 5

// Controller makes the desired keys in etcd follow one git source. A pass reads the source's
// pin and latest sync request, fetches, loads and validates the whole commit (the pinned one
// while a rollback holds the source, else the branch head; decoding only the files whose blob
// changed since the last commit read, see cache.go), diffs it against etcd and applies
// the change set with the sync status and a history entry in one transaction. A commit with
// any error changes nothing but the status; a fetch error changes nothing at all; a commit that
// would delete more than Options.PruneLimit of the objects is refused unless allowed. Passes
// are serialized.
//
// A commit whose Path holds no manifests is applied like any other: it prunes every object, so
// it needs an explicit allowance. A Path missing from the commit is an error instead, so a typo
// or a deleted directory prunes nothing; keep a .gitkeep to mean "run nothing".
type Controller struct {
	st   *store.Store
	repo Repo
	log  *slog.Logger
	opts Options

	mu     sync.Mutex
	passes int
	// passStart is when the running pass began, for its duration.
	passStart time.Time
	// head is the branch head last fetched; pin is what holds the source at a commit (zero
	// while it follows the branch); resumed is the commit of an automatic pin this pass removed.
	head    string
	pin     api.Pin
	resumed string
	// healthy is the last commit whose history entry was marked Healthy.
	healthy string
	// seen is the last commit read from git (the pin, else the head); want is the last one
	// applied, whose objects are the desired state (a bad or refused commit leaves it in place).
	seen, want loaded
	// files and live keep the decoded files of the last commit listed and the decoded live
	// objects of the last pass, so that a pass decodes only what changed.
	files fileCache
	live  liveCache
}

// loaded is one commit read from git: its objects, annotated, with the canonical form of each
// (canonicalJSON), or its errors.
type loaded struct {
	commit  string
	info    api.CommitInfo
	objects []api.Object
	canon   [][]byte
	errs    []api.FieldError
}

// New returns a controller of repo's manifests (log nil discards); it does nothing until
// SyncOnce or Run.
func New(st *store.Store, repo Repo, log *slog.Logger, opts Options) *Controller {
	if opts.Name == "" {
		opts.Name = api.DefaultSource
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PassTimeout <= 0 {
		opts.PassTimeout = 2 * time.Minute
	}
	if opts.PruneLimit <= 0 {
		opts.PruneLimit = defaultPruneLimit
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{st: st, repo: repo, log: log.With("source", opts.Name), opts: opts}
}

// SyncOnce runs one pass: read the pin and the latest sync request, fetch, load and validate
// the commit to apply when it moved, then diff the desired state against etcd and apply it. The
// diff runs even when the commit did not move, which reverts drift. It returns the sync status
// as recorded.
func (c *Controller) SyncOnce(ctx context.Context) (api.SyncStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	log := c.passLog()
	ctl, err := c.st.GetControl(ctx, c.opts.Name)
	if err != nil {
		return api.SyncStatus{}, fmt.Errorf("sync %s: %w", c.opts.Name, err)
	}
	c.pin, c.resumed = api.Pin{}, ""
	if ctl.Pin != nil {
		c.pin = *ctl.Pin
	}
	head, err := c.repo.Fetch(ctx)
	if err != nil {
		c.recordFailure(ctx, log, ctl.Request, api.CommitInfo{}, "fetch failed: "+err.Error())
		return api.SyncStatus{}, fmt.Errorf("sync %s: %w", c.opts.Name, err)
	}
	c.head = head
	if err := c.resume(ctx, log); err != nil {
		return api.SyncStatus{}, err
	}
	target := cmp.Or(c.pin.Commit, head)
	if target != c.seen.commit {
		if err := c.load(ctx, log, target); err != nil {
			msg := err.Error()
			if c.pin.Commit != "" {
				msg = fmt.Sprintf("rollback to %s: %v", api.ShortHash(c.pin.Commit), err)
			}
			c.recordFailure(ctx, log, ctl.Request, api.CommitInfo{Hash: target}, msg)
			return api.SyncStatus{}, err
		}
	}
	st, err := c.apply(ctx, log, ctl.Request)
	if err != nil {
		// Say so in the status (a waiter on the request gets its answer), keeping what runs.
		c.recordFailure(ctx, log, ctl.Request, api.CommitInfo{Hash: target}, err.Error())
	}
	return st, err
}

// Resync diffs the desired state already loaded against etcd and applies it, without asking git
// or reading the sync request; Run calls it when a desired key changes, so drift is reverted
// (or reported, without self-heal) within a second. Before the first successful SyncOnce it
// does nothing.
func (c *Controller) Resync(ctx context.Context) (api.SyncStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen.commit == "" {
		return api.SyncStatus{}, nil
	}
	return c.apply(ctx, c.passLog(), nil)
}

func (c *Controller) passLog() *slog.Logger {
	c.passes++
	c.passStart = c.opts.Now()
	return c.log.With("pass", c.passes)
}

// load reads and validates commit into c.seen; a pinned commit is made available first.
func (c *Controller) load(ctx context.Context, log *slog.Logger, commit string) error {
	if commit == c.pin.Commit {
		if err := c.repo.Ensure(ctx, commit); err != nil {
			return fmt.Errorf("sync %s: %w", c.opts.Name, err)
		}
	}
	m, err := c.repo.Manifests(ctx, commit, c.files.blobs())
	fe, bad := source.AsFileErrors(err)
	if err != nil && !bad {
		return fmt.Errorf("sync %s: %w", c.opts.Name, err)
	}
	errs := []api.FieldError(fe)
	var objects []api.Object
	var canon [][]byte
	if !bad {
		if err := c.files.update(m); err != nil {
			return fmt.Errorf("sync %s: commit %s: %w", c.opts.Name, api.ShortHash(commit), err)
		}
		objects, canon, errs = c.files.load(commit, c.opts.Rules)
	}
	info := c.describe(ctx, log, commit)
	if len(errs) > 0 {
		log.Warn("commit rejected", "commit", api.ShortHash(commit), "errors", len(errs), "first", errs[0].Error())
		c.seen = loaded{commit: commit, info: info, errs: errs}
		return nil
	}
	c.seen = loaded{commit: commit, info: info, objects: objects, canon: canon}
	log.Info("commit loaded", "commit", api.ShortHash(commit), "files", len(m.Blobs), "read", len(m.Files),
		"objects", len(objects))
	return nil
}

// describe returns the author, message and time of commit, or only its hash when git cannot say.
func (c *Controller) describe(ctx context.Context, log *slog.Logger, commit string) api.CommitInfo {
	info, err := c.repo.Commit(ctx, commit)
	if err != nil {
		log.Warn("describe commit", "commit", api.ShortHash(commit), "err", err)
		return api.CommitInfo{Hash: commit}
	}
	return info
}

// apply decides the pass against etcd and commits its writes, status and history entry in
// one transaction, retrying lost compare-and-swaps. req is the latest sync request (nil: the
// pass answers none). A transaction etcd refuses for its size is recorded as a failed sync.
func (c *Controller) apply(ctx context.Context, log *slog.Logger, req *api.SyncRequest) (api.SyncStatus, error) {
	prev, err := c.readStatus(ctx)
	if err != nil {
		return api.SyncStatus{}, err
	}
	for attempt := 1; ; attempt++ {
		live, err := c.live.list(ctx, c.st)
		if err != nil {
			return prev, fmt.Errorf("sync %s: %w", c.opts.Name, err)
		}
		p := c.decide(log, prev, live, req)
		if p.cs.Empty() && sameStatus(prev, p.st) {
			return prev, nil
		}
		rec := store.SyncRecord{Writes: p.cs.Writes(), Status: p.st, History: p.entry, HistoryLimit: c.opts.HistoryLimit}
		_, err = c.st.CommitSync(ctx, rec)
		var limit *store.LimitError
		if errors.As(err, &limit) {
			return c.refused(ctx, log, prev, p, limit)
		}
		if err == nil {
			if p.target.commit != "" {
				c.want = p.target
			}
			if p.entry != nil {
				c.healthy = "" // a new entry may need its mark
			}
			c.live.wrote(p.cs, p.target)
			logChanges(log, prev, p.st, p.cs)
			c.recorded(rec, p.cs)
			return p.st, nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == maxConflictRetries {
			return prev, fmt.Errorf("sync %s: apply commit %s: %w", c.opts.Name, api.ShortHash(p.target.commit), err)
		}
		log.Info("apply lost a compare-and-swap; retrying", "attempt", attempt)
	}
}

// diff is Diff of target against live, as c.live last listed it, comparing the canonical forms
// the caches hold.
func (c *Controller) diff(target loaded, live map[api.Key]store.DesiredObject) ChangeSet {
	return diff(target.objects, live, func(i int, k api.Key) bool {
		d := target.canon[i]
		return d != nil && bytes.Equal(d, c.live.canonical(k))
	})
}

// readStatus returns the recorded status, or a zero one before the first sync.
func (c *Controller) readStatus(ctx context.Context) (api.SyncStatus, error) {
	st, err := c.st.GetSync(ctx, c.opts.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return st, fmt.Errorf("sync %s: %w", c.opts.Name, err)
	}
	return st, nil
}

// status is the record of a pass before its outcome: Synced, nothing new applied.
func (c *Controller) status(prev api.SyncStatus, req *api.SyncRequest) api.SyncStatus {
	cfg := c.repo.Config()
	st := api.SyncStatus{
		Source: c.opts.Name, Branch: cfg.Branch, Path: cfg.Path,
		SeenCommit: c.head, AppliedCommit: prev.AppliedCommit, Commit: prev.Commit,
		PinnedCommit: c.pin.Commit, PinReason: c.pin.Reason, RollbackOnFailure: prev.RollbackOnFailure,
		Sync: api.SyncSynced, Errors: []api.FieldError{}, Changes: prev.Changes,
		Time:      c.opts.Now().UTC().Format(time.RFC3339),
		RequestID: prev.RequestID, RequestRevision: prev.RequestRevision,
	}
	st.AutoRollback = rollbackNote(prev.AutoRollback, c.pin, prev.AppliedCommit)
	answer(&st, req)
	return st
}

// recordFailure marks the status Failed with msg, keeping the applied state, and records the
// attempt in the history when the outcome changed.
func (c *Controller) recordFailure(ctx context.Context, log *slog.Logger, req *api.SyncRequest, commit api.CommitInfo, msg string) {
	if ctx.Err() != nil {
		return // the pass was stopped, not failed: the next one decides
	}
	log.Warn("sync failed; keeping the applied state", "err", msg)
	prev, err := c.readStatus(ctx)
	if err != nil {
		log.Warn("read sync status", "err", err)
		return
	}
	st := prev
	st.Source, st.Sync, st.Message, st.PinnedCommit, st.PinReason = c.opts.Name, api.SyncFailed, msg, c.pin.Commit, c.pin.Reason
	st.AutoRollback = rollbackNote(prev.AutoRollback, c.pin, prev.AppliedCommit)
	st.Time = c.opts.Now().UTC().Format(time.RFC3339)
	answer(&st, req)
	if st.Errors == nil {
		st.Errors = []api.FieldError{}
	}
	if sameStatus(prev, st) {
		return
	}
	rec := store.SyncRecord{Status: st, HistoryLimit: c.opts.HistoryLimit}
	if !sameOutcome(prev, st) {
		rec.History = &api.HistoryEntry{Commit: commit, Time: st.Time, Result: api.SyncFailed, Message: msg,
			Rollback: c.pin.Commit != ""}
	}
	if _, err := c.st.CommitSync(ctx, rec); err != nil {
		log.Warn("record sync failure", "err", err)
		return
	}
	c.recorded(rec, ChangeSet{})
}

// answer records in st that it answers req (nil: none).
func answer(st *api.SyncStatus, req *api.SyncRequest) {
	if req != nil {
		st.RequestID, st.RequestRevision = req.ID, req.Revision
	}
}

// sameStatus compares what a status says, ignoring its time and change counts, so that
// a pass that changes nothing writes nothing.
func sameStatus(a, b api.SyncStatus) bool {
	return sameOutcome(a, b) && a.RequestID == b.RequestID && a.RequestRevision == b.RequestRevision
}

// sameOutcome is sameStatus without the request answered: a pass whose outcome did not change
// records no history entry.
func sameOutcome(a, b api.SyncStatus) bool {
	return a.Source == b.Source && a.Branch == b.Branch && a.Path == b.Path &&
		a.SeenCommit == b.SeenCommit && a.AppliedCommit == b.AppliedCommit && a.Commit == b.Commit &&
		a.PinnedCommit == b.PinnedCommit && a.Sync == b.Sync && a.Message == b.Message &&
		slices.Equal(a.Errors, b.Errors) && a.PinReason == b.PinReason &&
		slices.Equal(a.RollbackOnFailure, b.RollbackOnFailure) && sameNote(a.AutoRollback, b.AutoRollback)
}

// logChanges logs an applied change set, one line per written object.
func logChanges(log *slog.Logger, prev, st api.SyncStatus, cs ChangeSet) {
	s := cs.Summary()
	log = log.With("commit", api.ShortHash(st.AppliedCommit))
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

// sameNote compares two automatic rollback notes, either nil.
func sameNote(a, b *api.RollbackNote) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
