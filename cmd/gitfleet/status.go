package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// statusOutput is the stable shape of `gitfleet status -o json`: the sync status, with the
// health of the desired objects and the Pod counts that the workload controller recorded.
type statusOutput struct {
	api.SyncStatus
	Health  string             `json:"health"`
	Objects []api.ObjectStatus `json:"objects"`
	Pods    api.PodCounts      `json:"pods"`
	// Nodes is the scheduler's record of the nodes; absent before its first record.
	Nodes *api.NodesStatus `json:"nodes,omitempty"`
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := connFlags{readOnly: true}
	conn.register(fs)
	output := fs.String("o", "", "output format: json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, s, done, err := conn.session(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer done()
	out, err := readStatus(ctx, s)
	if err != nil {
		return err
	}
	if *output == "json" {
		return writeJSON(stdout, out)
	}
	printStatus(stdout, out)
	return nil
}

func readStatus(ctx context.Context, s *store.Store) (statusOutput, error) {
	st, err := s.GetSync(ctx, api.DefaultSource)
	if errors.Is(err, store.ErrNotFound) {
		st, err = api.SyncStatus{Source: api.DefaultSource, Sync: api.SyncOutOfSync, Message: "no sync yet"}, nil
	}
	if err != nil {
		return statusOutput{}, err
	}
	if st.Errors == nil {
		st.Errors = []api.FieldError{}
	}
	h, err := s.GetHealth(ctx, api.DefaultSource)
	if errors.Is(err, store.ErrNotFound) {
		h, err = api.HealthStatus{Health: api.HealthMissing}, nil
	}
	if err != nil {
		return statusOutput{}, err
	}
	if h.Objects == nil {
		h.Objects = []api.ObjectStatus{}
	}
	out := statusOutput{SyncStatus: st, Health: h.Health, Objects: h.Objects, Pods: h.Pods}
	switch ns, err := s.GetNodesStatus(ctx); {
	case err == nil:
		out.Nodes = &ns
	case !errors.Is(err, store.ErrNotFound):
		return statusOutput{}, err
	}
	return out, nil
}

func printStatus(w io.Writer, st statusOutput) {
	fmt.Fprintf(w, "source:    %s (branch %s, path %q)\n", st.Source, st.Branch, st.Path)
	fmt.Fprintf(w, "sync:      %s\n", st.Sync)
	fmt.Fprintf(w, "health:    %s\n", st.Health)
	fmt.Fprintf(w, "applied:   %s\n", short(st.AppliedCommit))
	if c := st.Commit; c.Hash != "" {
		fmt.Fprintf(w, "commit:    %s %s, %s: %s\n", short(c.Hash), dash(c.Author), dash(c.Time), c.Message)
	}
	switch {
	case st.PinReason != "":
		fmt.Fprintf(w, "pinned:    %s (automatic rollback: %s; the next push resumes)\n", short(st.PinnedCommit), st.PinReason)
	case st.PinnedCommit != "":
		fmt.Fprintf(w, "pinned:    %s (rolled back; 'gitfleet sync --resume' follows the branch again)\n", short(st.PinnedCommit))
	}
	if n := st.AutoRollback; n != nil && n.Target == "" {
		fmt.Fprintf(w, "rollback:  %s (%s: %s)\n", n.Message, short(n.Commit), n.Reason)
	}
	fmt.Fprintf(w, "seen:      %s\n", short(st.SeenCommit))
	if st.Time != "" {
		fmt.Fprintf(w, "last sync: %s\n", st.Time)
	}
	c := st.Changes
	fmt.Fprintf(w, "changes:   %d created, %d updated, %d deleted, %d unchanged\n", c.Created, c.Updated, c.Deleted, c.Unchanged)
	fmt.Fprintf(w, "pods:      %d total, %d running, %d ready, %d pending, %d failed\n",
		st.Pods.Total, st.Pods.Running, st.Pods.Ready, st.Pods.Pending, st.Pods.Failed)
	if n := st.Nodes; n != nil {
		fmt.Fprintf(w, "nodes:     %d/%d Ready", n.Ready, n.Total)
		if len(n.NotReady) > 0 {
			fmt.Fprintf(w, "; NotReady: %s", strings.Join(n.NotReady, ", "))
		}
		fmt.Fprintln(w)
		if n.EvictionsPaused != "" {
			fmt.Fprintf(w, "warning:   %s\n", n.EvictionsPaused)
		}
	}
	if st.Message != "" {
		fmt.Fprintf(w, "message:   %s\n", st.Message)
	}
	for _, e := range st.Errors {
		fmt.Fprintf(w, "error:     %s\n", e.Error())
	}
	printObjects(w, st.Objects)
}

// printObjects writes one line per desired object: KIND/NS/NAME SYNC HEALTH MESSAGE.
func printObjects(w io.Writer, objects []api.ObjectStatus) {
	if len(objects) == 0 {
		return
	}
	rows := make([]string, len(objects))
	for i, o := range objects {
		rows[i] = fmt.Sprintf("%s\t%s\t%s\t%s", o.Key, o.Sync, o.Health, o.Message)
	}
	fmt.Fprintln(w)
	_ = table(w, "KIND/NS/NAME\tSYNC\tHEALTH\tMESSAGE", rows)
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	if commit == "" {
		return "-"
	}
	return commit
}
