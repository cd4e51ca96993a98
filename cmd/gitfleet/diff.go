package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gitfleet/gitfleet/reconciler"
)

func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn connFlags
	conn.register(fs)
	path := fs.String("path", "", "sub-directory of DIR that holds the manifests")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet diff [--path SUBDIR] [DIR]\n\nPrints the plan that DIR (default .) would cause against the live state; exit 1 when it changes anything.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	dir := "."
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	s, closeFn, err := conn.open()
	if err != nil {
		return err
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cs, errs, err := reconciler.PlanDir(ctx, s, dir, *path)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		printErrors(stderr, errs)
		return exitCode(2)
	}
	if err := cs.Render(stdout); err != nil {
		return err
	}
	if !cs.Empty() {
		return exitCode(1)
	}
	return nil
}
