package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
	"google.golang.org/grpc"
)

// connFlags are the flags every command that reads live state shares.
type connFlags struct {
	dataDir   string
	endpoints string
	// ca, cert and key are the PEM files for an etcd with TLS; unset, https endpoints use the
	// ones in DATA_DIR/pki.
	ca, cert, key string
	// readOnly is set by the commands that only read: with DATA_DIR/pki's certificates they
	// connect as the viewer, which may write nothing, when the host has its certificate.
	readOnly bool
	// dialOpts are added to the etcd clients' (the roles time their requests).
	dialOpts []grpc.DialOption
}

func defaultDataDir() string {
	if d := os.Getenv("GITFLEET_DATA_DIR"); d != "" {
		return d
	}
	return "/var/lib/gitfleet"
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data-dir", defaultDataDir(), "state directory (env GITFLEET_DATA_DIR)")
	fs.StringVar(&c.endpoints, "etcd-endpoints", "", "comma-separated etcd URLs; default: DATA_DIR/endpoints written by 'up' or at join")
	fs.StringVar(&c.ca, "etcd-ca", "", "CA file (PEM) of an etcd with TLS; default for https endpoints: DATA_DIR/pki/ca.crt")
	fs.StringVar(&c.cert, "etcd-cert", "", "client certificate file (PEM) for an etcd with TLS; default for https endpoints: DATA_DIR/pki/client.crt")
	fs.StringVar(&c.key, "etcd-key", "", "client key file (PEM) for an etcd with TLS; default for https endpoints: DATA_DIR/pki/client.key")
}

// pkiDir holds the cluster CA and this data dir's certificates.
func pkiDir(dataDir string) string { return filepath.Join(dataDir, "pki") }

// tlsConfig is the TLS configuration for eps: from --etcd-ca, --etcd-cert and --etcd-key when given,
// else DATA_DIR/pki's when an endpoint is https, else none.
func (c *connFlags) tlsConfig(eps []string) (*tls.Config, error) {
	switch {
	case c.ca != "" || c.cert != "" || c.key != "":
		if c.ca == "" || (c.cert == "") != (c.key == "") {
			return nil, fmt.Errorf("--etcd-ca is required with --etcd-cert and --etcd-key, which go together")
		}
		return pki.ClientTLS(c.ca, c.cert, c.key)
	case !slices.ContainsFunc(eps, func(ep string) bool { return strings.HasPrefix(ep, "https://") }):
		return nil, nil
	}
	cfg, err := c.dirTLS()
	if err != nil {
		return nil, fmt.Errorf("etcd at %s needs TLS (pass --etcd-ca, --etcd-cert and --etcd-key, or the --data-dir of a host that runs 'up' or joined): %w",
			strings.Join(eps, ","), err)
	}
	return cfg, nil
}

// dirTLS is the TLS configuration from DATA_DIR/pki: the viewer's certificate for a read-only
// command on a control-plane host, else the host's own (admin there, the node's on a worker).
func (c *connFlags) dirTLS() (*tls.Config, error) {
	dir := pkiDir(c.dataDir)
	if c.readOnly {
		cert, key := identityFiles(dir, store.UserViewer)
		if _, err := os.Stat(key); err == nil {
			return pki.ClientTLS(filepath.Join(dir, pki.CACert), cert, key)
		}
	}
	return pki.DirClientTLS(dir)
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
	return c.connect(eps)
}

func (c *connFlags) connect(eps []string) (*store.Store, func(), error) {
	tlsCfg, err := c.tlsConfig(eps)
	if err != nil {
		return nil, nil, err
	}
	dial := store.ConnectMembers
	if c.endpoints != "" {
		dial = store.ConnectTLS // an etcd of the user's, which may refuse frequent pings
	}
	cli, err := dial(eps, tlsCfg, c.dialOpts...)
	if err != nil {
		return nil, nil, err
	}
	return store.New(cli), func() { cli.Close() }, nil
}

// session connects and bounds the command's calls by timeout (0: none); done cancels and closes.
// It fails at once when nothing listens at the endpoints: a command would wait out its timeout.
func (c *connFlags) session(ctx context.Context, timeout time.Duration) (context.Context, *store.Store, func(), error) {
	eps, err := c.resolve()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := c.probe(ctx, eps); err != nil {
		return nil, nil, nil, err
	}
	s, closeFn, err := c.connect(eps)
	if err != nil {
		return nil, nil, nil, err
	}
	cancel := func() {}
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	return ctx, s, func() { cancel(); closeFn() }, nil
}

// probeTimeout bounds the check that something listens at the endpoints. Loopback answers in
// well under a millisecond; a remote etcd gets a round trip or two.
const probeTimeout = 1500 * time.Millisecond

// probe checks that at least one of eps accepts a connection. The long-running roles do not
// probe: one started before its etcd waits for it.
func (c *connFlags) probe(ctx context.Context, eps []string) error {
	err := dialAny(ctx, eps)
	switch {
	case err == nil:
		return nil
	case c.endpoints != "":
		return fmt.Errorf("etcd is not reachable at %s: %w", strings.Join(eps, ","), err)
	default:
		return fmt.Errorf("gitfleet is not running at %s (%s is left from a stopped 'gitfleet up'; start it, or pass --etcd-endpoints): %w",
			strings.Join(eps, ","), endpointsFile(c.dataDir), err)
	}
}

// dialAny connects to every endpoint at once and returns nil as soon as one accepts, else the
// errors of all on one line, within probeTimeout.
func dialAny(ctx context.Context, eps []string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	results := make(chan error, len(eps))
	for _, ep := range eps {
		go func() { results <- dial(ctx, ep) }()
	}
	var errs error
	for range eps {
		err := <-results
		switch {
		case err == nil:
			return nil
		case errs == nil:
			errs = err
		default:
			errs = fmt.Errorf("%w; %w", errs, err)
		}
	}
	return errs
}

func dial(ctx context.Context, endpoint string) error {
	var d net.Dialer
	network, addr := endpointAddr(endpoint)
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// endpointAddr is where an etcd client endpoint listens; etcd takes unix://PATH,
// http(s)://HOST:PORT and a bare HOST:PORT.
func endpointAddr(endpoint string) (network, addr string) {
	u, err := url.Parse(endpoint)
	switch {
	case err == nil && (u.Scheme == "unix" || u.Scheme == "unixs"):
		return "unix", u.Host + u.Path
	case err == nil && u.Host != "":
		return "tcp", u.Host
	default:
		return "tcp", endpoint
	}
}
