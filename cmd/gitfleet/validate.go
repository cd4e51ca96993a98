package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/source"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", "", "sub-directory of DIR that holds the manifests")
	var rules rulesFlags
	rules.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet validate [--path SUBDIR] [--service-cidr CIDR] DIR\n       gitfleet validate FILE\n\nChecks every manifest offline as a sync would; exit 1 with file:line errors.\nA FILE is checked alone: what it references but does not declare is a warning.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	dir := "."
	if fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	if info, err := os.Stat(dir); err == nil && !info.IsDir() && *path == "" {
		return validateFile(dir, info.Size(), stdout, stderr)
	}
	r, err := rules.rules()
	if err != nil {
		return err
	}
	decoded, errs, err := loadTree(dir, *path, r)
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

// rulesFlags are the cluster settings a commit is checked against, as the controller's flags
// of the same names set them.
type rulesFlags struct{ serviceCIDR string }

func (f *rulesFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.serviceCIDR, "service-cidr", api.DefaultServiceCIDR, "the cluster's service CIDR (up --service-cidr): an explicit clusterIP outside it is an error")
}

func (f *rulesFlags) rules() (api.Rules, error) {
	p, err := netip.ParsePrefix(f.serviceCIDR)
	if err != nil || !p.Addr().Is4() {
		return api.Rules{}, fmt.Errorf("--service-cidr %q: want an IPv4 prefix such as %s", f.serviceCIDR, api.DefaultServiceCIDR)
	}
	return api.Rules{ServiceCIDR: p}, nil
}

// loadTree reads and checks a working tree with the rules of a commit.
func loadTree(dir, sub string, rules api.Rules) ([]api.Decoded, []api.FieldError, error) {
	files, err := source.LoadDir(dir, sub)
	var fe source.FileErrors
	if errors.As(err, &fe) {
		return nil, fe, nil
	}
	if err != nil {
		return nil, nil, err
	}
	decoded, errs := rules.LoadSet(files)
	return decoded, errs, nil
}

func printErrors(w io.Writer, errs []api.FieldError) {
	for _, e := range errs {
		fmt.Fprintln(w, e.Error())
	}
	fmt.Fprintf(w, "%d error(s)\n", len(errs))
}

// validateFile checks one manifest file as a repository of its own, except that what it
// references without declaring (a Namespace, a ConfigMap) may be declared elsewhere in the
// repository, so those set errors are warnings; a duplicate within the file is an error.
func validateFile(name string, size int64, stdout, stderr io.Writer) error {
	if !api.IsManifestFile(name) {
		return fmt.Errorf("validate %s: not a manifest file (.yaml, .yml or .json)", api.QuoteName(name))
	}
	if size > api.MaxFileBytes {
		printErrors(stderr, []api.FieldError{{File: name, Line: 1,
			Message: fmt.Sprintf("file is %d bytes, more than the limit of %d", size, api.MaxFileBytes)}})
		return exitCode(1)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	lf := api.LoadFile(filepath.ToSlash(name), data)
	errs := lf.Errors
	for _, e := range api.ValidateSet(lf.Objects) {
		if strings.HasPrefix(e.Message, "duplicate ") {
			errs = append(errs, e)
		} else {
			fmt.Fprintf(stderr, "warning: %s (not declared in this file)\n", e.Error())
		}
	}
	if len(errs) > 0 {
		api.SortErrors(errs)
		printErrors(stderr, errs)
		return exitCode(1)
	}
	fmt.Fprintf(stdout, "%d objects valid\n", len(lf.Objects))
	return nil
}
