package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// identities are the etcd clients of up's roles. With --advertise-address each is its own
// etcd user, as its certificate's CommonName says, with only the rights its loop needs (see
// package store's permissions); without, one client serves all.
type identities struct {
	// admin has every right: the join server, and the rights of the nodes (noderights).
	admin      *store.Store
	controller *store.Store
	scheduler  *store.Store
	// node is this host's agent.
	node *store.Store
	// auth says the identities are distinct: etcd checks each one's rights.
	auth bool
}

// identityFiles are the certificate and key of user in a pki dir: client.* for admin, the
// identity of the CLI's write commands; node.* for this host's node.
func identityFiles(dir, user string) (cert, key string) {
	switch user {
	case store.UserAdmin:
		return filepath.Join(dir, pki.ClientCert), filepath.Join(dir, pki.ClientKey)
	case store.UserController, store.UserScheduler, store.UserViewer:
		return filepath.Join(dir, user+".crt"), filepath.Join(dir, user+".key")
	}
	return filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
}

// ensureIdentities issues, from the CA, the certificates of a control-plane host's identities
// that it lacks or that are due: admin's is newExposure's.
func (x *exposure) ensureIdentities(node string, now time.Time) error {
	for _, user := range []string{store.UserController, store.UserScheduler, store.UserViewer, store.NodeUser(node)} {
		cert, key := identityFiles(x.dir, user)
		if _, err := x.ca.Ensure(x.dir, filepath.Base(cert), filepath.Base(key), pki.Request{CommonName: user}, now); err != nil {
			return err
		}
	}
	return nil
}

// connectIdentities connects up's roles to eps. With x (TLS), it first makes sure, as admin,
// that etcd's auth is on with every identity's rights and this host's node has its user; then
// each role connects as itself.
func connectIdentities(ctx context.Context, conn connFlags, eps []string, x *exposure, node string) (identities, func(), error) {
	if x == nil {
		st, closeFn, err := conn.connect(eps)
		if err != nil {
			return identities{}, nil, err
		}
		return identities{admin: st, controller: st, scheduler: st, node: st}, closeFn, nil
	}
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	dial := func(user string) (*store.Store, error) {
		cert, key := identityFiles(x.dir, user)
		tlsCfg, err := pki.ClientTLS(filepath.Join(x.dir, pki.CACert), cert, key)
		if err != nil {
			return nil, fmt.Errorf("read the certificate of %s: %w", user, err)
		}
		c, err := store.ConnectMembers(eps, tlsCfg, conn.dialOpts...)
		if err != nil {
			return nil, err
		}
		closers = append(closers, func() { c.Close() })
		return store.New(c), nil
	}
	ids := identities{auth: true}
	var err error
	if ids.admin, err = dial(store.UserAdmin); err == nil {
		err = enableAuth(ctx, ids.admin, node)
	}
	for _, p := range []struct {
		st   **store.Store
		user string
	}{{&ids.controller, store.UserController}, {&ids.scheduler, store.UserScheduler}, {&ids.node, store.NodeUser(node)}} {
		if err == nil {
			*p.st, err = dial(p.user)
		}
	}
	if err != nil {
		closeAll()
		return identities{}, nil, err
	}
	return ids, closeAll, nil
}

// enableAuth turns etcd's auth on with this version's rights, and gives node its user.
func enableAuth(ctx context.Context, admin *store.Store, node string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := admin.EnableAuth(ctx); err != nil {
		return err
	}
	return admin.EnsureNodeUser(ctx, node)
}
