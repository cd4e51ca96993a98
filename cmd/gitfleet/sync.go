package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
	fs.BoolVar(&f.wait, "wait", false, "wait until the sync is applied and every object is Healthy (exit 0), or it failed, an object is Degraded or an automatic rollback replaced the commit (exit 1); rollouts are shown as they progress")
	fs.DurationVar(&f.timeout, "timeout", 0, "with --wait, give up after this long (0: wait for the controller's answer up to 1m, then for the rollouts as long as they progress: each Deployment's progress deadline plus 30s since it last moved, 2m when none is under way)")
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
	last, ok := lastSync(ctx, s, st)
	if ok && c.Created+c.Updated+c.Deleted > 0 {
		for _, line := range last.Changes {
			fmt.Fprintf(w, "  %s\n", line)
		}
		if last.Message != "" { // an automatic rollback, a resume after one, drift reverted
			fmt.Fprintf(w, "sync: %s\n", last.Message)
		}
	}
	switch {
	case st.PinReason != "":
		fmt.Fprintf(w, "sync: pinned at %s by an automatic rollback; the next push resumes\n", short(st.PinnedCommit))
	case st.PinnedCommit != "":
		fmt.Fprintf(w, "sync: pinned at %s by a rollback; 'gitfleet sync --resume' follows the branch again\n", short(st.PinnedCommit))
	}
	return true
}

// lastSync is the latest history entry when it is st's sync.
func lastSync(ctx context.Context, s *store.Store, st api.SyncStatus) (api.HistoryEntry, bool) {
	hist, err := s.ListHistory(ctx, syncSource)
	if err != nil || len(hist) == 0 {
		return api.HistoryEntry{}, false
	}
	last := hist[len(hist)-1]
	return last, last.Commit.Hash == st.AppliedCommit && last.Result == api.SyncSynced
}
