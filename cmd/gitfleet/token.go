package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/join"
	"github.com/gitfleet/gitfleet/pki"
)

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: gitfleet token create [--ttl 24h] [--control-plane] [--print-join-command] [--data-dir DIR]")
		return errors.New("token: want 'create'")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var conn connFlags
	conn.register(fs)
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token lets hosts join")
	printJoin := fs.Bool("print-join-command", false, "print the whole command the joining host runs ('gitfleet agent' or 'gitfleet up'), not only the token")
	controlPlane := fs.Bool("control-plane", false, "let the token join control-plane hosts ('gitfleet up --join'), which run an etcd member and get the cluster CA's key; without it, workers only")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet token create [flags]\n\nPrints a join token for another host, on the host that runs 'gitfleet up --advertise-address IP'.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ca, _, err := pki.LoadCACert(pkiDir(conn.dataDir))
	if errors.Is(err, pki.ErrNoCA) {
		return fmt.Errorf("create join token: no cluster CA in %s: run it on the host that runs 'gitfleet up --advertise-address IP', with its --data-dir", pkiDir(conn.dataDir))
	}
	if err != nil {
		return err
	}
	var server string
	if *printJoin {
		b, err := os.ReadFile(joinURLFile(conn.dataDir))
		if err != nil {
			return fmt.Errorf("find the join server (is 'gitfleet up --advertise-address IP' running with --data-dir %s?): %w", conn.dataDir, err)
		}
		server = strings.TrimSpace(string(b))
	}
	ctx, s, done, err := conn.session(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer done()
	role := join.Worker
	if *controlPlane {
		role = join.ControlPlane
	}
	tok, err := join.CreateToken(ctx, s, pki.Hash(ca), role, *ttl, time.Now())
	if err != nil {
		return err
	}
	switch {
	case *printJoin && *controlPlane:
		fmt.Fprintf(stdout, "gitfleet up --join %s --token %s --advertise-address THIS_HOSTS_IP --repo THE_SAME_REPO\n", server, tok.Reveal())
		return nil
	case *printJoin:
		fmt.Fprintf(stdout, "gitfleet agent --server %s --token %s\n", server, tok.Reveal())
		return nil
	}
	fmt.Fprintln(stdout, tok.Reveal())
	return nil
}
