package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitfleet/gitfleet/store"
)

// runMember runs `gitfleet member list` and `gitfleet member remove NAME`: the embedded etcd's
// members, one per control-plane host.
func runMember(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("member", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn connFlags
	conn.register(fs)
	force := fs.Bool("force", false, "remove the member even when the members left do not answer enough to keep a quorum")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet member list | remove NAME [--force]\n\nThe control plane's etcd members. Remove a dead control-plane host's member before a new host"+
			"\njoins in its place ('gitfleet up --join'); a removal that would leave too few members answering for a quorum is refused.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "list":
	case fs.NArg() == 2 && fs.Arg(0) == "remove":
	default:
		fs.Usage()
		return fmt.Errorf("member: want list, or remove NAME")
	}
	ctx, s, done, err := conn.session(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer done()
	if fs.Arg(0) == "list" {
		members, err := s.Members(ctx)
		if err != nil {
			return err
		}
		return printMembers(stdout, members)
	}
	m, err := s.RemoveMember(ctx, fs.Arg(1), *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "member %s (%s) removed; its host's etcd stops. Delete its node with 'gitfleet node delete %s' once its agent is gone.\n",
		fs.Arg(1), m.IDString(), m.Name)
	return nil
}

func printMembers(w io.Writer, members []store.Member) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSTATE\tPEER\tCLIENT")
	for _, m := range members {
		state := "voter"
		switch {
		case !m.Started():
			state = "unstarted"
		case m.Learner:
			state = "learner"
		case m.Leader:
			state = "leader"
		}
		name := m.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, m.IDString(), state, strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","))
	}
	return tw.Flush()
}
