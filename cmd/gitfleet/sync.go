package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/reconciler"
	"github.com/gitfleet/gitfleet/store"
)

// syncSource is the sync source the CLI works on; gitfleet runs one per controller.
const syncSource = api.DefaultSource

// syncFlags configure `gitfleet sync`.
type syncFlags struct {
	conn           connFlags
	wait           bool
	timeout, grace time.Duration
	resume         bool
	allowMassPrune bool
	commit         string
}

func (f *syncFlags) register(fs *flag.FlagSet) {
	f.conn.register(fs)
	fs.BoolVar(&f.wait, "wait", false, "wait until the sync is applied and every object is Healthy (exit 0), or failed (exit 1)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "with --wait, give up after this long")
	fs.DurationVar(&f.grace, "degraded-grace", 20*time.Second, "with --wait, fail once the objects stay Degraded this long")
	fs.BoolVar(&f.resume, "resume", false, "remove a rollback's pin first, so the source follows its branch again")
	fs.BoolVar(&f.allowMassPrune, "allow-mass-prune", false, "let this sync delete more objects than the prune limit allows")
	fs.StringVar(&f.commit, "commit", "", "the commit expected at the branch head (a push hook passes the pushed commit)")
}

// requestTimeout bounds writing the request, so that a push hook never hangs on a dead etcd.
const requestTimeout = 5 * time.Second

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f syncFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sync: unexpected argument %q", fs.Arg(0))
	}
	ctx, s, done, err := f.conn.session(ctx, f.timeout)
	if err != nil {
		return notReachable(stderr, err)
	}
	defer done()
	w, err := sendSyncRequest(ctx, s, f)
	if err != nil {
		return notReachable(stderr, err)
	}
	fmt.Fprintf(stdout, "sync: requested %s\n", w.id)
	if !f.wait {
		return nil
	}
	return waitSync(ctx, s, stdout, f, w)
}

// notReachable tells a user (or the pusher, through a hook) that gitfleet could not be asked.
func notReachable(stderr io.Writer, err error) error {
	fmt.Fprintf(stderr, "gitfleet: not reachable: %v\n", err)
	return exitCode(2)
}

// syncWait is what a waiter needs to recognize the answer to its request.
type syncWait struct {
	id     string
	commit string
	// rev is the store revision before the request; watches start there.
	rev int64
	// before is the RequestID the status answered before ours.
	before string
}

// sendSyncRequest removes the pin when asked, then writes a new request.
func sendSyncRequest(ctx context.Context, s *store.Store, f syncFlags) (syncWait, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	w := syncWait{id: reconciler.NewRequestID(), commit: f.commit}
	prev, err := s.GetSync(ctx, syncSource)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return syncWait{}, err
	}
	w.before = prev.RequestID
	if w.rev, err = s.Revision(ctx); err != nil {
		return syncWait{}, err
	}
	req := api.SyncRequest{ID: w.id, Commit: f.commit, AllowMassPrune: f.allowMassPrune,
		Time: time.Now().UTC().Format(time.RFC3339)}
	if f.resume {
		// One transaction, so the controller's answer to the request includes leaving the pin.
		return w, s.UnpinAndRequestSync(ctx, syncSource, req)
	}
	return w, s.RequestSync(ctx, syncSource, req)
}

// waitSync waits for the controller's answer, reports it and, when it applied, waits for health.
func waitSync(ctx context.Context, s *store.Store, stdout io.Writer, f syncFlags, w syncWait) error {
	st, err := waitAnswer(ctx, s, w)
	if err != nil {
		fmt.Fprintf(stdout, "sync: no answer from the controller in %s: %v\n", f.timeout, err)
		return exitCode(1)
	}
	if !reportSync(ctx, s, stdout, st, w.commit) {
		return exitCode(1)
	}
	return waitHealthy(ctx, s, stdout, f)
}

// waitAnswer watches the sync status, polling as a fallback, until it answers w.
func waitAnswer(ctx context.Context, s *store.Store, w syncWait) (api.SyncStatus, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := s.Watch(wctx, store.Sync, w.rev)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		st, err := s.GetSync(ctx, syncSource)
		if err == nil && answers(ctx, s, st, w) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return api.SyncStatus{}, context.Cause(ctx)
		case _, ok := <-changes:
			if !ok {
				changes = nil // lost: the ticker polls
			}
		case <-tick.C:
		}
	}
}

// answers reports whether st is the controller's answer to w: it names our request; or it
// answers a newer request, for our commit or for one that replaced ours (the controller never
// answers a replaced request, and it fetched after our push for the newer one).
func answers(ctx context.Context, s *store.Store, st api.SyncStatus, w syncWait) bool {
	switch {
	case st.RequestID == w.id:
		return true
	case st.RequestID == w.before:
		return false
	case w.commit != "" && strings.HasPrefix(st.SeenCommit, w.commit):
		return true
	}
	latest, err := s.GetSyncRequest(ctx, syncSource)
	return err == nil && latest.ID != w.id && latest.ID == st.RequestID
}

// reportSync prints the sync result, the changes it made and its errors; false when it failed.
func reportSync(ctx context.Context, s *store.Store, w io.Writer, st api.SyncStatus, commit string) bool {
	if commit != "" && !strings.HasPrefix(st.SeenCommit, commit) {
		fmt.Fprintf(w, "sync: the branch is at %s now, not %s; reporting that\n", short(st.SeenCommit), short(commit))
	}
	if st.Sync != api.SyncSynced {
		fmt.Fprintf(w, "sync: %s %s: %s\n", short(st.SeenCommit), st.Sync, st.Message)
		for _, e := range st.Errors {
			fmt.Fprintf(w, "  %s\n", e.Error())
		}
		return false
	}
	c := st.Changes
	fmt.Fprintf(w, "sync: %s Synced: %d created, %d changed, %d deleted\n", short(st.AppliedCommit), c.Created, c.Updated, c.Deleted)
	if c.Created+c.Updated+c.Deleted > 0 {
		for _, line := range changeLines(ctx, s, st) {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	if st.PinnedCommit != "" {
		fmt.Fprintf(w, "sync: pinned at %s by a rollback; 'gitfleet sync --resume' follows the branch again\n", short(st.PinnedCommit))
	}
	return true
}

// changeLines are the rendered changes of the latest history entry when it is st's sync.
func changeLines(ctx context.Context, s *store.Store, st api.SyncStatus) []string {
	hist, err := s.ListHistory(ctx, syncSource)
	if err != nil || len(hist) == 0 {
		return nil
	}
	last := hist[len(hist)-1]
	if last.Commit.Hash != st.AppliedCommit || last.Result != api.SyncSynced {
		return nil
	}
	return last.Changes
}

// healthView is one assessment of the desired objects' health.
type healthView struct {
	health     string
	objects    []api.ObjectStatus
	ready, pod int // Pods of desired objects running ready, and wanted
	pods       []api.Pod
}

// readHealth assesses the live state.
func readHealth(ctx context.Context, s *store.Store) (healthView, error) {
	desired, _, err := s.ListDesired(ctx)
	if err != nil {
		return healthView{}, err
	}
	pods, err := s.ListPodsWithStatus(ctx)
	if err != nil {
		return healthView{}, err
	}
	v := healthView{objects: reconciler.Health(desired, pods), pods: pods}
	v.health = reconciler.Aggregate(v.objects)
	v.ready, v.pod = reconciler.PodCounts(desired, pods)
	return v, nil
}

// waitHealthy re-assesses health on every change of desired objects, Pods or Pod statuses (and
// every second) until it is Healthy (nil), Degraded for longer than the grace, or ctx ends.
func waitHealthy(ctx context.Context, s *store.Store, w io.Writer, f syncFlags) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rev, err := s.Revision(ctx)
	wake := wakeOn(wctx, s, rev, err == nil)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	p := newProgress(w)
	var degradedSince time.Time
	var last healthView
	for {
		v, err := readHealth(ctx, s)
		if err == nil {
			last = v
			p.show(v)
			if done, err := judgeHealth(w, p, v, &degradedSince, f.grace); done {
				return err
			}
		}
		select {
		case <-ctx.Done():
			p.end()
			fmt.Fprintf(w, "health: timed out after %s: %s\n", f.timeout, describe(last))
			return exitCode(1)
		case <-wake:
		case <-tick.C:
		}
	}
}

// judgeHealth ends the wait when v is Healthy, or Degraded for longer than grace.
func judgeHealth(w io.Writer, p *progress, v healthView, degradedSince *time.Time, grace time.Duration) (bool, error) {
	switch {
	case v.health == api.HealthHealthy:
		p.end()
		fmt.Fprintf(w, "health: Healthy (%d/%d pods running)\n", v.ready, v.pod)
		return true, nil
	case v.health != api.HealthDegraded:
		*degradedSince = time.Time{}
	case degradedSince.IsZero():
		*degradedSince = time.Now()
	case time.Since(*degradedSince) > grace:
		p.end()
		fmt.Fprintf(w, "health: %s\n", describe(v))
		return true, exitCode(1)
	}
	return false, nil
}

// describe renders the aggregate health and the first object that has it.
func describe(v healthView) string {
	if v.health == "" {
		return "unknown (the state could not be read)"
	}
	for _, o := range v.objects {
		if o.Health == v.health && o.Health != api.HealthHealthy {
			return fmt.Sprintf("%s: %s: %s", v.health, objectName(o.Key), o.Message)
		}
	}
	return v.health
}

// wakeOn merges watches of desired objects, Pods and Pod statuses into one channel; a lost
// watch just stops waking (the caller also polls). Without a revision it never wakes.
func wakeOn(ctx context.Context, s *store.Store, rev int64, ok bool) <-chan struct{} {
	out := make(chan struct{}, 1)
	if !ok {
		return out
	}
	for _, r := range []store.Resource{store.Desired, store.Pods, store.PodStatus} {
		ch := s.Watch(ctx, r, rev)
		go func() {
			for range ch {
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}()
	}
	return out
}

// objectName is how progress lines name an object: "web", or "ns/web" outside default.
func objectName(k api.Key) string {
	if k.Namespace == api.DefaultNamespace || k.Namespace == "" {
		return k.Name
	}
	return k.Namespace + "/" + k.Name
}

// progress prints health as it changes: on a terminal one line updated in place, otherwise a
// line per object whose health or message changed, as "web: Progressing: 1/2 ready".
type progress struct {
	w        io.Writer
	terminal bool
	seen     map[api.Key]string
	line     string
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, terminal: isTerminal(w), seen: map[api.Key]string{}}
}

func (p *progress) show(v healthView) {
	var parts []string
	for _, o := range v.objects {
		if o.Health == api.HealthHealthy && p.seen[o.Key] == "" {
			continue // healthy from the start: nothing to report
		}
		text := fmt.Sprintf("%s: %s: %s", objectName(o.Key), o.Health, o.Message)
		parts = append(parts, text)
		if p.seen[o.Key] != text && !p.terminal {
			fmt.Fprintln(p.w, text)
		}
		p.seen[o.Key] = text
	}
	if line := strings.Join(parts, "; "); p.terminal && line != p.line {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.line = line
	}
}

// end finishes the updating line, so what follows starts on a line of its own.
func (p *progress) end() {
	if p.terminal && p.line != "" {
		fmt.Fprintln(p.w)
		p.line = ""
	}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
