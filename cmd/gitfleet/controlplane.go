package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/gitfleet/gitfleet/join"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store/embedded"
)

// defaultPeerPort is where a control-plane host's etcd member talks to the others.
const defaultPeerPort = "2380"

// peerAddr is where this host's etcd member listens for the other members: --etcd-peer-listen,
// else the advertised address on 2380.
func (f *upFlags) peerAddr() string {
	return cmp.Or(f.etcdPeer, net.JoinHostPort(f.node.advertise, defaultPeerPort))
}

// etcdDir is where the embedded etcd keeps its data in dataDir.
func etcdDir(dataDir string) string { return filepath.Join(dataDir, "etcd") }

// isMember reports whether dataDir holds an etcd member already.
func isMember(dataDir string) bool { return embedded.HoldsMember(etcdDir(dataDir)) }

// joinControlPlane makes this host a control-plane member of the cluster whose join server is
// --join, on its first start: the join server adds its etcd member as a learner and hands over
// the cluster CA, which it keeps in DATA_DIR/pki. It returns etcd's --initial-cluster for the
// new member; "" when there is nothing to join (no --join, or the data dir is a member
// already: later starts need neither the token nor the join server).
func (f *upFlags) joinControlPlane(ctx context.Context, name string, log *slog.Logger) (string, error) {
	j := &f.join
	switch {
	case j.server == "" && (j.token != "" || j.tokenFile != ""):
		return "", errors.New("--token and --token-file need --join")
	case j.server == "":
		return "", nil
	case f.node.advertise == "":
		return "", errors.New("--join needs --advertise-address: the other members and hosts reach this one there")
	case f.conn.endpoints != "":
		return "", errors.New("--join and --etcd-endpoints exclude each other: with an external etcd, run 'gitfleet up --etcd-endpoints' on each control-plane host, no join")
	}
	dir := pkiDir(f.conn.dataDir)
	tok, tokErr := j.readToken()
	if isMember(f.conn.dataDir) {
		if ca, _, err := pki.LoadCACert(dir); tokErr == nil && err == nil && pki.Hash(ca) != tok.CAHash {
			return "", fmt.Errorf("this data dir is a member of the cluster of CA %s, and the token is for CA %s: use another --data-dir to join that cluster", pki.Hash(ca), tok.CAHash)
		}
		log.Info("this host is an etcd member already; --join is not used")
		return "", nil
	}
	if tokErr != nil {
		return "", tokErr
	}
	peer := "https://" + f.peerAddr()
	creds, err := j.retry(ctx, log, func(ctx context.Context) (join.Credentials, error) {
		return join.JoinControlPlane(ctx, j.server, tok, name, peer)
	})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	if _, err := pki.WriteCA(dir, creds.CA, creds.CAKey); err != nil {
		return "", err
	}
	log.Info("joined the control plane; starting this host's etcd member", "server", j.server, "member", name, "peer", peer, "ca", tok.CAHash)
	return creds.InitialCluster, nil
}
