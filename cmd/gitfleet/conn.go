package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/store"
)

// connFlags are the flags every command that reads live state shares.
type connFlags struct {
	dataDir   string
	endpoints string
}

func defaultDataDir() string {
	if d := os.Getenv("GITFLEET_DATA_DIR"); d != "" {
		return d
	}
	return "/var/lib/gitfleet"
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", defaultDataDir(), "state directory (env GITFLEET_DATA_DIR)")
	fs.StringVar(&c.endpoints, "etcd-endpoints", "", "comma-separated etcd URLs; default: DATA_DIR/endpoints written by 'up'")
}

// endpointsFile is where `up` records how to reach its embedded etcd.
func endpointsFile(dataDir string) string { return filepath.Join(dataDir, "endpoints") }

func (c *connFlags) resolve() ([]string, error) {
	if c.endpoints != "" {
		return strings.Split(c.endpoints, ","), nil
	}
	b, err := os.ReadFile(endpointsFile(c.dataDir))
	if err != nil {
		return nil, fmt.Errorf("find a running gitfleet (is 'gitfleet up' running with --data-dir %s? or pass --etcd-endpoints): %w", c.dataDir, err)
	}
	return strings.Fields(string(b)), nil
}

// open connects to the store; close it when done.
func (c *connFlags) open() (*store.Store, func(), error) {
	eps, err := c.resolve()
	if err != nil {
		return nil, nil, err
	}
	cli, err := store.Connect(eps)
	if err != nil {
		return nil, nil, err
	}
	return store.New(cli), func() { cli.Close() }, nil
}

// session connects and bounds the command's calls by timeout (0: none); done cancels and closes.
func (c *connFlags) session(ctx context.Context, timeout time.Duration) (context.Context, *store.Store, func(), error) {
	s, closeFn, err := c.open()
	if err != nil {
		return nil, nil, nil, err
	}
	cancel := func() {}
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	return ctx, s, func() { cancel(); closeFn() }, nil
}
