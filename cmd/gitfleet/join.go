package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/internal/backoff"
	"github.com/gitfleet/gitfleet/join"
	"github.com/gitfleet/gitfleet/pki"
)

// joinFlags say how an agent joins a cluster on its first start.
type joinFlags struct {
	server, token, tokenFile string
	timeout                  time.Duration
}

func (f *joinFlags) register(fs *flag.FlagSet) {
	f.registerAs(fs, "server", "join the cluster whose join server is at this URL (https://IP:9443) on the first start; later starts use what the join kept in DATA_DIR")
}

// registerAs registers the flags with the server's URL named name.
func (f *joinFlags) registerAs(fs *flag.FlagSet, name, usage string) {
	fs.StringVar(&f.server, name, "", usage)
	fs.StringVar(&f.token, "token", "", "join token from 'gitfleet token create' (other users can read it in the process list: prefer --token-file)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the join token")
	fs.DurationVar(&f.timeout, "join-timeout", 2*time.Minute, "how long to retry a join server that does not answer (a refused token fails at once)")
}

// readToken reads the token from --token or --token-file, exactly one of them.
func (f *joinFlags) readToken() (join.Token, error) {
	switch {
	case f.token != "" && f.tokenFile != "":
		return join.Token{}, errors.New("--token and --token-file exclude each other")
	case f.token != "":
		return join.ParseToken(f.token)
	case f.tokenFile != "":
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return join.Token{}, fmt.Errorf("read join token: %w", err)
		}
		return join.ParseToken(string(b))
	}
	return join.Token{}, errors.New("--server needs --token or --token-file")
}

// join joins the cluster at --server unless conn's data dir joined already: it keeps the CA,
// this host's certificate and key in DATA_DIR/pki and the etcd endpoints in DATA_DIR/endpoints,
// so that conn connects with them, and the serving certificate of its agent's log server, for
// addresses. nodeName is --node-name ("" for the kept or host name).
func (f *joinFlags) join(ctx context.Context, conn *connFlags, nodeName string, addresses []net.IP, log *slog.Logger) error {
	switch {
	case f.server == "" && (f.token != "" || f.tokenFile != ""):
		return errors.New("--token and --token-file need --server")
	case f.server == "":
		return nil
	case conn.endpoints != "":
		return errors.New("--server and --etcd-endpoints exclude each other: a joined agent dials the endpoints the join server gave it")
	}
	dir := pkiDir(conn.dataDir)
	tok, tokErr := f.readToken()
	if joined(conn.dataDir) {
		return f.checkJoined(dir, tok, tokErr, nodeName, log)
	}
	if tokErr != nil {
		return tokErr
	}
	if err := makeDataDir(conn.dataDir); err != nil {
		return err
	}
	name, err := keptValue(filepath.Join(conn.dataDir, "node-name"), nodeName, hostname)
	if err != nil {
		return err
	}
	creds, err := f.retry(ctx, log, func(ctx context.Context) (join.Credentials, error) {
		return join.Join(ctx, f.server, tok, name, addresses)
	})
	if err != nil {
		return err
	}
	if err := pki.WriteClient(dir, creds.CA, creds.Cert, creds.Key); err != nil {
		return err
	}
	if len(creds.ServingCert) == 0 {
		log.Warn("the join server sent no serving certificate (an older gitfleet): this host's agent will serve no logs")
	} else if err := pki.WriteNodeServing(dir, creds.ServingCert, creds.Key); err != nil {
		return err
	}
	// The endpoints last: they mark the join done.
	if err := writeFileAtomic(endpointsFile(conn.dataDir), []byte(strings.Join(creds.EtcdEndpoints, "\n")+"\n")); err != nil {
		return err
	}
	log.Info("joined the cluster", "server", f.server, "node", name, "etcd", creds.EtcdEndpoints, "ca", tok.CAHash)
	return nil
}

// joined reports whether dataDir holds what a join keeps.
func joined(dataDir string) bool {
	_, err := os.Stat(endpointsFile(dataDir))
	return err == nil && pki.HasClient(pkiDir(dataDir))
}

// checkJoined lets a restart with the same flags go on without the token, which may have
// expired; a token for another cluster, or another node name, is an error.
func (f *joinFlags) checkJoined(dir string, tok join.Token, tokErr error, nodeName string, log *slog.Logger) error {
	ca, _, err := pki.LoadCACert(dir)
	if err != nil {
		return err
	}
	anew := fmt.Sprintf("use another --data-dir, or remove %s and %s to join anew", filepath.Join(dir, pki.ClientCert), endpointsFile(filepath.Dir(dir)))
	if tokErr == nil && tok.CAHash != pki.Hash(ca) {
		return fmt.Errorf("this data dir joined the cluster of CA %s, and the token is for CA %s: %s", pki.Hash(ca), tok.CAHash, anew)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, pki.ClientCert), filepath.Join(dir, pki.ClientKey))
	if err != nil {
		return fmt.Errorf("read this host's certificate: %w", err)
	}
	if cn := pair.Leaf.Subject.CommonName; nodeName != "" && cn != join.NodeIdentity(nodeName) {
		return fmt.Errorf("this data dir joined as %s, not --node-name %s: %s", cn, nodeName, anew)
	}
	log.Info("joined already; the token is not used", "ca", pki.Hash(ca))
	return nil
}

// retry calls try until it succeeds, fails for good, or the join timeout passes.
func (f *joinFlags) retry(ctx context.Context, log *slog.Logger, try func(context.Context) (join.Credentials, error)) (join.Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	b := backoff.New(500*time.Millisecond, 10*time.Second)
	for {
		creds, err := try(ctx)
		if err == nil || join.Permanent(err) {
			return creds, err
		}
		d := b.Next()
		log.Warn("join failed; retrying", "err", err, "in", d.Round(time.Millisecond))
		if !backoff.Sleep(ctx, d) {
			return join.Credentials{}, fmt.Errorf("%w (gave up after --join-timeout %s)", err, f.timeout)
		}
	}
}
