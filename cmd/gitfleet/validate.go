package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/source"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", "", "sub-directory of DIR that holds the manifests")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet validate [--path SUBDIR] DIR\n\nChecks every manifest offline as a sync would; exit 1 with file:line errors.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	dir := "."
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	decoded, errs, err := loadTree(dir, *path)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		printErrors(stderr, errs)
		return exitCode(1)
	}
	fmt.Fprintf(stdout, "%d objects valid\n", len(decoded))
	return nil
}

// loadTree reads and checks a working tree with the rules of a commit.
func loadTree(dir, sub string) ([]api.Decoded, []api.FieldError, error) {
	files, err := source.LoadDir(dir, sub)
	var fe source.FileErrors
	if errors.As(err, &fe) {
		return nil, fe, nil
	}
	if err != nil {
		return nil, nil, err
	}
	decoded, errs := api.LoadSet(files)
	return decoded, errs, nil
}

func printErrors(w io.Writer, errs []api.FieldError) {
	for _, e := range errs {
		fmt.Fprintln(w, e.Error())
	}
	fmt.Fprintf(w, "%d error(s)\n", len(errs))
}
