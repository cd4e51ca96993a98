package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/gitfleet/gitfleet/nodeagent/containerd"
)

func runImage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return fmt.Errorf("image: want 'gitfleet image import FILE...'")
	}
	fs := flag.NewFlagSet("image import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var nf nodeFlags
	nf.register(fs)
	dataDir := fs.String("data-dir", defaultDataDir(), "state directory (env GITFLEET_DATA_DIR)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet image import [flags] FILE...\n\nImports OCI or docker archives into containerd, where every node agent on this machine finds them.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args[1:])); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("image import: name at least one archive")
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, err := containerd.New(ctx, nf.runtimeConfig(cmp.Or(nf.name, hostname()), *dataDir, ""), log)
	if err != nil {
		return err
	}
	defer rt.Close()
	for _, file := range fs.Args() {
		names, err := rt.ImportArchive(ctx, file)
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintf(stdout, "imported %s\n", n)
		}
	}
	return nil
}
