package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/request"
	"github.com/gitfleet/gitfleet/store"
)

// syncSource is the sync source the CLI works on; gitfleet runs one per controller.
const syncSource = api.DefaultSource

// syncFlags configure `gitfleet sync`.
type syncFlags struct {
	conn           connFlags
	wait           bool
	timeout        time.Duration
	resume         bool
	allowMassPrune bool
	commit         string
}

func (f *syncFlags) register(fs *flag.FlagSet) {
	f.conn.register(fs)
	fs.BoolVar(&f.wait, "wait", false, "wait until the sync is applied and every object is Healthy (exit 0), or it failed or an object is Degraded (exit 1)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "with --wait, give up after this long")
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
	sctx, cancel := context.WithTimeout(ctx, requestTimeout)
	ask := request.Ask{Commit: f.commit, AllowMassPrune: f.allowMassPrune, Pin: store.PinChange{Remove: f.resume}}
	t, err := request.Send(sctx, s, syncSource, ask, time.Now())
	cancel()
	if err != nil {
		return notReachable(stderr, err)
	}
	fmt.Fprintf(stdout, "sync: requested %s\n", t.ID)
	if !f.wait {
		return nil
	}
	return waitSync(ctx, s, stdout, f, t)
}

// notReachable tells a user (or the pusher, through a hook) that gitfleet could not be asked.
func notReachable(stderr io.Writer, err error) error {
	fmt.Fprintf(stderr, "gitfleet: not reachable: %v\n", err)
	return exitCode(2)
}

// waitSync waits for the controller's answer, reports it and, when it applied, waits for the
// health the workload controller records of the applied commit.
func waitSync(ctx context.Context, s *store.Store, stdout io.Writer, f syncFlags, t request.Ticket) error {
	st, err := request.Wait(ctx, s, t)
	if err != nil {
		fmt.Fprintf(stdout, "sync: no answer from the controller in %s (is it running?): %v\n", f.timeout, err)
		return exitCode(1)
	}
	if !reportSync(ctx, s, stdout, st, f.commit) {
		return exitCode(1)
	}
	return waitHealthy(ctx, s, stdout, f.timeout, st.AppliedCommit)
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

// waitHealthy shows the recorded health of commit as it changes, until it settles: Healthy
// (nil), Degraded or the timeout (exit 1).
func waitHealthy(ctx context.Context, s *store.Store, w io.Writer, timeout time.Duration, commit string) error {
	p := newProgress(w)
	h, err := request.WaitHealth(ctx, s, syncSource, commit, p.show)
	p.end()
	switch {
	case err != nil:
		fmt.Fprintf(w, "health: timed out after %s: %s\n", timeout, describe(h))
		return exitCode(1)
	case h.Health == api.HealthHealthy:
		fmt.Fprintf(w, "health: Healthy (%d/%d pods running)\n", h.Ready, h.Want)
		return nil
	}
	fmt.Fprintf(w, "health: %s\n", describe(h))
	return exitCode(1)
}

// describe renders the aggregate health and the first object that has it.
func describe(h api.HealthStatus) string {
	if h.Health == "" {
		return "unknown (no health recorded for the commit yet)"
	}
	for _, o := range h.Objects {
		if o.Health == h.Health && o.Health != api.HealthHealthy {
			return fmt.Sprintf("%s: %s: %s", h.Health, objectName(o.Key), o.Message)
		}
	}
	return h.Health
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

func (p *progress) show(h api.HealthStatus) {
	var parts []string
	for _, o := range h.Objects {
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
