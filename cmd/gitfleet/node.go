package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gitfleet/gitfleet/store"
)

// nodeUsage lists the node subcommands.
const nodeUsage = `usage: gitfleet node delete NAME [--force]
       gitfleet node cordon|uncordon NAME
       gitfleet node drain NAME [--force] [--timeout D]
       gitfleet node taint NAME key=value:Effect|key:Effect|key:Effect-|key- ...

delete removes a node: its registration, heartbeat and spec; the control plane releases its Pod
range. A Ready node is kept unless --force: its agent would only register it again.
cordon keeps new Pods off a node; uncordon lets them on again.
drain cordons a node, then deletes its Pods one at a time, each workload's next only once its
replacement runs elsewhere; Pods no workload owns are refused unless --force.
taint adds taints (Effect NoSchedule, PreferNoSchedule or NoExecute) that keep off the Pods
not tolerating them, or removes them with a trailing '-' (key- removes every taint of key).`

// runNode runs `gitfleet node SUBCOMMAND NAME ...` (see nodeUsage).
func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn connFlags
	conn.register(fs)
	force := fs.Bool("force", false, "delete: delete the node even while it is Ready; drain: delete Pods no workload owns")
	timeout := fs.Duration("timeout", 10*time.Minute, "drain: how long to wait for it all")
	fs.Usage = func() {
		fmt.Fprintln(stderr, nodeUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	sub, rest := fs.Arg(0), fs.Args()[min(1, fs.NArg()):]
	run, ok := nodeCommand(sub)
	if !ok || len(rest) == 0 || sub != "taint" && len(rest) != 1 || sub == "taint" && len(rest) < 2 {
		fs.Usage()
		return fmt.Errorf("node: want delete, cordon, uncordon, drain or taint, then NAME")
	}
	limit := 10 * time.Second
	if sub == "drain" {
		limit = *timeout
	}
	ctx, s, done, err := conn.session(ctx, limit)
	if err != nil {
		return err
	}
	defer done()
	msg, err := run(ctx, s, nodeArgs{name: rest[0], rest: rest[1:], force: *force})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, msg)
	return nil
}

// nodeArgs are what a node subcommand takes: the node's name, the arguments after it, --force.
type nodeArgs struct {
	name  string
	rest  []string
	force bool
}

// nodeCommand returns the node subcommand sub; each returns the line it prints on success.
func nodeCommand(sub string) (func(context.Context, *store.Store, nodeArgs) (string, error), bool) {
	switch sub {
	case "delete":
		return func(ctx context.Context, s *store.Store, a nodeArgs) (string, error) {
			return "node " + a.name + " deleted", deleteNode(ctx, s, a.name, a.force)
		}, true
	case "cordon", "uncordon":
		return func(ctx context.Context, s *store.Store, a nodeArgs) (string, error) {
			return "node " + a.name + " " + sub + "ed", setUnschedulable(ctx, s, a.name, sub == "cordon")
		}, true
	case "drain":
		return func(ctx context.Context, s *store.Store, a nodeArgs) (string, error) {
			return drainNode(ctx, s, a.name, a.force)
		}, true
	case "taint":
		return func(ctx context.Context, s *store.Store, a nodeArgs) (string, error) {
			return "node " + a.name + " tainted", taintNode(ctx, s, a.name, a.rest)
		}, true
	}
	return nil, false
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
