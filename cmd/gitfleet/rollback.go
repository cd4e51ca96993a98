package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/request"
)

func runRollback(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rollback", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn connFlags
	conn.register(fs)
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the controller to apply the commit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet rollback COMMIT [flags]\n\nHolds the source at COMMIT (a hash or unique prefix of a commit that synced, as 'gitfleet history'\nlists them) until 'gitfleet sync --resume', and waits until the controller applied it.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("rollback: want one COMMIT")
	}
	ctx, s, done, err := conn.session(ctx, *timeout)
	if err != nil {
		return err
	}
	defer done()
	commit, t, err := request.Rollback(ctx, s, syncSource, fs.Arg(0), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rollback: pinned %s %q; waiting for the controller\n", short(commit.Hash), commit.Message)
	st, err := request.Wait(ctx, s, t)
	if err != nil {
		fmt.Fprintf(stdout, "rollback: no answer from the controller in %s: %v\n", *timeout, err)
		fmt.Fprintln(stdout, "rollback: the pin stays: the controller applies it when it runs; 'gitfleet sync --resume' removes it")
		return exitCode(1)
	}
	return reportRollback(stdout, st, commit)
}

// reportRollback prints the controller's answer to a rollback to commit; exit 1 when it did not
// apply it.
func reportRollback(w io.Writer, st api.SyncStatus, commit api.CommitInfo) error {
	if st.AppliedCommit != commit.Hash || st.Sync == api.SyncFailed {
		fmt.Fprintf(w, "rollback: %s not applied: %s: %s\n", short(commit.Hash), st.Sync, st.Message)
		for _, e := range st.Errors {
			fmt.Fprintf(w, "  %s\n", e.Error())
		}
		fmt.Fprintln(w, "rollback: the source stays pinned; 'gitfleet sync --resume' follows the branch again")
		return exitCode(1)
	}
	c := st.Changes
	fmt.Fprintf(w, "rollback: %s applied: %d created, %d changed, %d deleted\n", short(commit.Hash), c.Created, c.Updated, c.Deleted)
	fmt.Fprintln(w, "rollback: pinned until 'gitfleet sync --resume'; pushes are seen, not applied")
	return nil
}
