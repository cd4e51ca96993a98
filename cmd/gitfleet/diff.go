package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/reconciler"
)

// runDiff prints, as a unified diff of YAML, what a working tree would change against the live
// state. Like diff(1) and kubectl diff it exits 0 when nothing would change, 1 when something
// would, and 2 on invalid manifests or any other error.
func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := connFlags{readOnly: true}
	conn.register(fs)
	path := fs.String("path", "", "sub-directory of DIR that holds the manifests")
	color := fs.String("color", "auto", "colour the diff: always, never, or auto (when stdout is a terminal)")
	var rules rulesFlags
	rules.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet diff [--path SUBDIR] [--color auto|always|never] [--service-cidr CIDR] [DIR]\n\n"+
			"Prints, as a unified diff of YAML, what DIR (default .) would change against the live state.\n"+
			"Exit 0: no change; 1: changes; 2: invalid manifests or an error.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitCode(2) // the flag package printed the error
	}
	dir := "."
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	useColor, err := colorMode(*color, stdout)
	if err != nil {
		return diffFailed(stderr, err)
	}
	r, err := rules.rules()
	if err != nil {
		return diffFailed(stderr, err)
	}
	cs, err := planTree(ctx, stderr, conn, dir, *path, r)
	if err != nil {
		return err
	}
	if err := reconciler.RenderUnified(stdout, cs, useColor); err != nil {
		return diffFailed(stderr, err)
	}
	if !cs.Empty() {
		return exitCode(1)
	}
	return nil
}

// planTree plans dir against the live state; its errors are exit codes, already reported.
func planTree(ctx context.Context, stderr io.Writer, conn connFlags, dir, sub string, rules api.Rules) (reconciler.ChangeSet, error) {
	ctx, s, done, err := conn.session(ctx, 30*time.Second)
	if err != nil {
		return reconciler.ChangeSet{}, diffFailed(stderr, err)
	}
	defer done()
	cs, errs, err := reconciler.DryRunDir(ctx, s, dir, sub, rules)
	if err != nil {
		return reconciler.ChangeSet{}, diffFailed(stderr, err)
	}
	if len(errs) > 0 {
		printErrors(stderr, errs)
		return reconciler.ChangeSet{}, exitCode(2)
	}
	return cs, nil
}

// diffFailed reports err and ends diff with status 2, which tells it from "there are changes".
func diffFailed(stderr io.Writer, err error) error {
	fmt.Fprintln(stderr, "gitfleet: diff:", err)
	return exitCode(2)
}

// colorMode decides whether to colour output written to w: always, never, or auto (when w is a
// terminal).
func colorMode(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto", "":
		return isTerminal(w), nil
	}
	return false, fmt.Errorf("--color %q: want always, never or auto", mode)
}
