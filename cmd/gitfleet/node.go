package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gitfleet/gitfleet/store"
)

// runNode runs `gitfleet node delete NAME [--force]`: it removes a node for good, so its Pod
// range is released and the other nodes drop their route to it. A Ready node is kept unless
// --force: its agent would only register it again.
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn connFlags
	conn.register(fs)
	force := fs.Bool("force", false, "delete the node even while it is Ready")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet node delete NAME [--force]\n\nRemoves a node: its registration, heartbeat and spec; the control plane releases its Pod range.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) != "delete" {
		fs.Usage()
		return fmt.Errorf("node: want delete NAME")
	}
	name := fs.Arg(1)
	ctx, s, done, err := conn.session(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer done()
	if err := deleteNode(ctx, s, name, *force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "node %s deleted\n", name)
	return nil
}

// deleteNode deletes name after checking it exists and, without force, is not Ready.
func deleteNode(ctx context.Context, s *store.Store, name string, force bool) error {
	nodes, _, err := s.ListNodes(ctx)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Value.Metadata.Name != name {
			continue
		}
		if n.Value.Status.Ready && !force {
			return fmt.Errorf("node %s is Ready: stop its agent first, or pass --force (it registers again while its agent runs)", name)
		}
		if err := s.DeleteNode(ctx, name); err != nil {
			return err
		}
		// Its certificate stays valid until it expires: it must open nothing.
		return s.DeleteNodeUser(ctx, name)
	}
	return fmt.Errorf("node %s: no such node (see gitfleet get nodes)", name)
}
