package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
	"github.com/gitfleet/gitfleet/nodeagent/logserver"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// logsServing says how this host's agent serves its containers' logs.
type logsServing struct {
	// tls, set, serves HTTPS to client certificates of the cluster CA, with the node's serving
	// certificate; nil serves plain HTTP, on loopback alone.
	tls *tls.Config
	// public listens on the node's address by default rather than on loopback: other hosts
	// read the logs.
	public bool
	// off, set, says why the agent serves no logs.
	off string
}

// upLogsServing is how up's agent serves logs: over TLS whenever up keeps the cluster CA (its
// etcd always serves TLS: a host's other users and its host-network Pods read no logs either),
// with a serving certificate it issues itself for the addresses it serves at; plain HTTP on
// loopback with an external etcd, where up has no CA.
func upLogsServing(x *exposure, f upFlags, node string, now time.Time) (logsServing, error) {
	if x == nil {
		return logsServing{}, nil
	}
	ips := listenIPs(net.IPv4(127, 0, 0, 1), f.node.logsListen)
	if x.exposed() {
		ips = listenIPs(net.IPv4(127, 0, 0, 1), x.advertise, f.node.logsListen)
	}
	req := pki.Request{CommonName: store.NodeUser(node), Usage: pki.Server, IPs: ips}
	if _, err := x.ca.Ensure(x.dir, pki.NodeServingCert, pki.NodeServingKey, req, now); err != nil {
		return logsServing{}, err
	}
	conf, err := servingTLS(x.dir)
	return logsServing{tls: conf, public: x.exposed()}, err
}

// agentLogsServing is how a lone agent serves logs: over TLS on the node's address when the
// host joined a cluster, with the serving certificate the join gave it; plain HTTP on loopback
// when the host has no certificates of a cluster. A host that joined before gitfleet served
// logs has no serving certificate: its agent serves none, and says so.
func agentLogsServing(dataDir string) (logsServing, error) {
	dir := pkiDir(dataDir)
	if _, err := os.Stat(filepath.Join(dir, pki.CACert)); errors.Is(err, fs.ErrNotExist) {
		return logsServing{}, nil
	}
	if _, err := os.Stat(filepath.Join(dir, pki.NodeServingCert)); errors.Is(err, fs.ErrNotExist) {
		return logsServing{off: fmt.Sprintf("%s is missing (this host joined before gitfleet served logs); join anew, from another --data-dir, to get one",
			filepath.Join(dir, pki.NodeServingCert))}, nil
	}
	conf, err := servingTLS(dir)
	return logsServing{tls: conf, public: true}, err
}

// servingTLS is the log server's TLS with dir's serving pair and CA.
func servingTLS(dir string) (*tls.Config, error) {
	return logserver.TLSConfig(filepath.Join(dir, pki.CACert), filepath.Join(dir, pki.NodeServingCert), filepath.Join(dir, pki.NodeServingKey))
}

// serveLogs starts the agent's log server as s says, on listen (or the default, logsAddr), and
// sets where it serves in node, which the node's status publishes. It serves until ctx ends.
func serveLogs(ctx context.Context, wg *sync.WaitGroup, listen string, node *nodeagent.NodeConfig, s logsServing, dataDir string, log *slog.Logger) error {
	if s.off != "" {
		log.Warn("container logs are not served: 'gitfleet logs' cannot read this node's", "reason", s.off)
		return nil
	}
	addr, err := logsAddr(listen, node, s)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve container logs (--logs-listen): %w", err)
	}
	node.LogsEndpoint = publishedEndpoint(ln.Addr().(*net.TCPAddr), node, s.tls != nil)
	h := logserver.New(dataDir, log, logserver.Options{Node: node.Name, Authorize: s.tls != nil})
	wg.Go(func() {
		if err := logserver.Serve(ctx, ln, h, s.tls, log); err != nil {
			log.Error("the log server stopped", "err", err)
		}
	})
	return nil
}

// logsAddr is where the log server listens: listen, else the node's address when s is public,
// else loopback, on logserver.DefaultPort. Plain HTTP listens on loopback alone.
func logsAddr(listen string, node *nodeagent.NodeConfig, s logsServing) (string, error) {
	if listen == "" {
		host := "127.0.0.1"
		if s.public {
			host = internalIP(node)
		}
		return net.JoinHostPort(host, strconv.Itoa(logserver.DefaultPort)), nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--logs-listen %q: want IP:PORT: %w", listen, err)
	}
	if ip := net.ParseIP(host); s.tls == nil && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("--logs-listen %s: without the cluster's certificates (DATA_DIR/pki) logs are served over plain HTTP, on a loopback address alone", listen)
	}
	return listen, nil
}

// publishedEndpoint is where clients reach the log server bound at addr: its IP, or the
// node's address when it listens on all of the host's.
func publishedEndpoint(addr *net.TCPAddr, node *nodeagent.NodeConfig, https bool) *api.DaemonEndpoint {
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = internalIP(node)
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	return &api.DaemonEndpoint{Scheme: scheme, Address: host, Port: addr.Port}
}

func internalIP(node *nodeagent.NodeConfig) string {
	for _, a := range node.Addresses {
		if a.Type == api.NodeInternalIP {
			return a.Address
		}
	}
	return "127.0.0.1"
}
