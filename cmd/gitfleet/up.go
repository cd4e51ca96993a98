package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitfleet/gitfleet/source"
	"github.com/gitfleet/gitfleet/store"
)

func runUp(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn connFlags
	var src sourceFlags
	var nf nodeFlags
	conn.register(fs)
	src.register(fs)
	nf.register(fs)
	etcdAddr := fs.String("etcd-listen", "127.0.0.1:0", "client address of the embedded etcd (port 0 picks one, recorded in DATA_DIR/endpoints)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet up --repo URL|PATH [flags]\n\nRuns an embedded etcd (unless --etcd-endpoints), the controller, the scheduler and a node agent in one process.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	cfg, err := src.config(conn.dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(conn.dataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	endpoints, stopEtcd, err := startEtcd(ctx, conn, *etcdAddr, log)
	if err != nil {
		return err
	}
	defer stopEtcd()
	cli, err := store.Connect(endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	st := store.New(cli)
	roles, err := src.webhook.with(st, cfg.Branch, log)(controllerRoles(st, cfg, &src, log))
	if err != nil {
		return err
	}
	agent, err := agentRole(ctx, st, nf, conn.dataDir, log)
	if err != nil {
		return err
	}
	roles = append(roles, schedulerRole(st, log), agent)
	log.Info("gitfleet up", "repo", source.RedactURL(cfg.URL), "branch", cfg.Branch, "path", cfg.Path, "data_dir", conn.dataDir)
	err = runRoles(ctx, log, roles...)
	log.Info("gitfleet stopped; containers keep running and the next start adopts them")
	return err
}

// startEtcd starts the embedded etcd and records its endpoints for the CLI, unless the user
// named an external cluster.
func startEtcd(ctx context.Context, conn connFlags, addr string, log *slog.Logger) ([]string, func(), error) {
	if conn.endpoints != "" {
		return strings.Split(conn.endpoints, ","), func() {}, nil
	}
	e, err := store.StartEmbedded(ctx, store.EmbeddedConfig{Dir: filepath.Join(conn.dataDir, "etcd"), ClientAddr: addr}, log)
	if err != nil {
		return nil, nil, err
	}
	file := endpointsFile(conn.dataDir)
	if err := writeFileAtomic(file, []byte(strings.Join(e.Endpoints, "\n")+"\n")); err != nil {
		e.Close()
		return nil, nil, err
	}
	return e.Endpoints, func() {
		os.Remove(file)
		e.Close()
	}, nil
}

// writeFileAtomic replaces path so a reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
