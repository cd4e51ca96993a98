// Command gitfleet keeps containers in step with a git repository: a GitOps reconciler with its
// own scheduler and node agent, in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `gitfleet: containers that follow a git repository.

Usage:
  gitfleet up --repo URL|PATH [--branch main] [--path DIR] [--data-dir DIR]  run every role in one process
  gitfleet controller|scheduler|agent --etcd-endpoints URLS                  run one role
  gitfleet up|controller ... --http-listen ADDR [--http-token-file F] [--http-tls-cert F --http-tls-key F]
                                         serve the web dashboard, /metrics, /healthz and /readyz there;
                                         HTTPS only with the pair, re-read when its files change
  gitfleet up ... --advertise-address IP     let other hosts join: etcd on IP too (TLS, as on loopback), a join server
  gitfleet token create [--ttl 24h] [--control-plane] [--print-join-command]
                                         a join token for another host (the whole agent command with the flag)
  gitfleet up --join URL --token-file F --advertise-address IP --repo URL
                                         join this host as a control-plane member (token made with --control-plane)
  gitfleet agent --server URL --token-file F [--advertise-address IP] [--node-name N] [--data-dir D]
                                         join this host on its first start, then run its agent
  gitfleet validate [DIR]                check manifests offline; exit 1 with file:line errors
  gitfleet diff [DIR] [--color auto|always|never]
                                         unified YAML diff of what a working tree would change against
                                         live state; exit 0 none, 1 changes, 2 invalid manifests or error
  gitfleet status [-o json]              commit applied, sync result, health, errors
  gitfleet get pods|deployments|replicasets|services|nodes [-o json|yaml|wide]
  gitfleet logs POD [-n NAMESPACE] [-c CONTAINER] [-f] [--tail N] [--previous]
                                         a container's log, from the agent of the Pod's node
  gitfleet sync [--wait] [--timeout 2m] [--commit HASH] [--resume] [--allow-mass-prune]
                                         sync now; --wait until Healthy (exit 0) or failed (exit 1)
  gitfleet hook install REPO.git [--branch main] [--timeout 60s] [--force]
                                         make pushes to a bare repository sync and show the result
  gitfleet history [-o json|yaml]        every sync attempt: commit, result, changes, author, message
  gitfleet events [-w] [--for KIND/NS/NAME] [-o json]
                                         what the controllers did or saw in the last hour; -w follows
  gitfleet rollback COMMIT [--timeout 60s]
                                         hold the source at a commit from history until sync --resume
  gitfleet image import FILE...          import OCI or docker archives into containerd
  gitfleet node delete NAME [--force]    remove a node for good; its Pod range is released
  gitfleet node cordon|uncordon|drain|taint NAME ...
                                         keep new Pods off a node, move its Pods elsewhere, or taint it
  gitfleet member list|remove NAME       the control plane's etcd members; remove a dead host's before replacing it

Reaching a running gitfleet: commands that read live state dial --etcd-endpoints when given,
else the endpoints that 'gitfleet up' (or a join) wrote to DATA_DIR/endpoints; https endpoints
use the certificates in DATA_DIR/pki. DATA_DIR is --data-dir, else $GITFLEET_DATA_DIR, else
/var/lib/gitfleet.

Run 'gitfleet COMMAND -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var ec exitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		os.Exit(int(ec))
	default:
		fmt.Fprintln(os.Stderr, "gitfleet:", err)
		os.Exit(1)
	}
}

// exitCode ends the process with a status and no further message (the command printed its own).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// command is one subcommand: it parses its own flags from args.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) error

func commands() map[string]command {
	return map[string]command{
		"up":         runUp,
		"controller": runController,
		"scheduler":  runScheduler,
		"agent":      runAgent,
		"token":      runToken,
		"validate":   runValidate,
		"diff":       runDiff,
		"status":     runStatus,
		"get":        runGet,
		"logs":       runLogs,
		"image":      runImage,
		"sync":       runSync,
		"hook":       runHook,
		"history":    runHistory,
		"node":       runNode,
		"member":     runMember,
		"rollback":   runRollback,
		"events":     runEvents,
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	return cmd(ctx, args[1:], stdout, stderr)
}
