package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// This file gives every identity of the cluster the least rights it needs in etcd. With auth
// enabled, etcd takes a client's user name from the CommonName of its TLS certificate, so each
// identity below is a certificate's CommonName, an etcd user (without a password) and, but for
// admin, a role of the same name whose key ranges are in permissions.go.

// The identities of gitfleet's clients.
const (
	// UserRoot exists because etcd enables auth only once a user of that name holds the root
	// role; nothing connects as it.
	UserRoot = "root"
	// UserAdmin has the root role: the CLI's write commands, the join server and the
	// controllers that change rights (package noderights).
	UserAdmin = "admin"
	// UserController is the sync controller, the workload controller, node IPAM and the services
	// controller, which run
	// in one process, and the webhook served by that process.
	UserController = "controller"
	// UserScheduler binds Pods, evicts those of lost nodes and records the nodes' state.
	UserScheduler = "scheduler"
	// UserViewer reads all but the join tokens and writes nothing: the CLI's read commands.
	UserViewer = "viewer"
)

// The elections (leader.Config.Role) whose candidate keys the identities may write.
const (
	ElectionController = "controller"
	ElectionWorkloads  = "workloads"
	ElectionNodeIPAM   = "nodeipam"
	ElectionServices   = "services"
	ElectionEndpoints  = "endpoints"
	ElectionScheduler  = "scheduler"
	// ElectionNodeRights is package noderights' election; its candidates are admin.
	ElectionNodeRights = "noderights"
)

// rootRole is etcd's role of full access.
const rootRole = "root"

// nodeUserPrefix starts the user name of every node.
const nodeUserPrefix = "node:"

// ErrPermissionDenied is etcd's refusal of a request its client has no rights for; the
// errors of the store's methods wrap it.
var ErrPermissionDenied = rpctypes.ErrPermissionDenied

// NodeUser is the user (and role, and certificate CommonName) of the agent of node.
func NodeUser(node string) string { return nodeUserPrefix + node }

// EnableAuth creates the users root, admin, controller, scheduler and viewer with their roles,
// makes each role's permissions exactly what this version defines (revoking any other), and
// enables auth. It is idempotent and cheap when nothing changed, so it runs on every start of
// the host that owns etcd, with a client of the root role (admin), or before auth is on. Node
// users are made one by one (EnsureNodeUser), but for registered nodes that have none yet,
// which it makes, so that the agents of a cluster that turns auth on keep working.
func (s *Store) EnableAuth(ctx context.Context) error {
	known, err := s.readAuthNames(ctx)
	if err != nil {
		return err
	}
	// etcd needs no root role to exist before it is granted, but older servers do; its
	// permissions are etcd's own.
	if err := s.syncRole(ctx, rootRole, known.roles[rootRole], nil, func(Permission) bool { return true }); err != nil {
		return err
	}
	for _, u := range []string{UserRoot, UserAdmin} {
		if err := s.ensureUser(ctx, u, known.users[u], rootRole); err != nil {
			return err
		}
	}
	for _, id := range []string{UserController, UserScheduler, UserViewer} {
		if err := s.syncRole(ctx, id, known.roles[id], identityPermissions(id), nil); err != nil {
			return err
		}
		if err := s.ensureUser(ctx, id, known.users[id], id); err != nil {
			return err
		}
	}
	if err := s.ensureRegisteredNodeUsers(ctx, known); err != nil {
		return err
	}
	if _, err := s.c.AuthEnable(ctx); err != nil {
		return fmt.Errorf("enable etcd auth: %w", err)
	}
	return nil
}

// ensureRegisteredNodeUsers makes the users of the registered nodes that have none: nodes that
// joined before auth was on, whose agents would be refused everything once it is. Those that
// have one keep it; package noderights brings their roles up to date.
func (s *Store) ensureRegisteredNodeUsers(ctx context.Context, known authNames) error {
	resp, err := s.c.Get(ctx, prefix(Nodes), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return fmt.Errorf("list registered nodes: %w", err)
	}
	for _, kv := range resp.Kvs {
		node := relName(Nodes, string(kv.Key))
		user := NodeUser(node)
		if known.users[user] || checkNodeName(node) != nil {
			continue
		}
		if err := s.syncRole(ctx, user, known.roles[user], nodePermissions(node), isConfigMapRead); err != nil {
			return err
		}
		if err := s.ensureUser(ctx, user, false, user); err != nil {
			return err
		}
	}
	return nil
}

// EnsureNodeUser creates the user and role of node's agent (NodeUser) with the rights every
// node has, and makes those exactly this version's; the ConfigMap reads granted to the node
// (SetNodeConfigMaps) stay. It is idempotent: the join server runs it when a host joins, and
// `up` for its own agent.
func (s *Store) EnsureNodeUser(ctx context.Context, node string) error {
	if err := checkNodeName(node); err != nil {
		return err
	}
	known, err := s.readAuthNames(ctx)
	if err != nil {
		return err
	}
	user := NodeUser(node)
	if err := s.syncRole(ctx, user, known.roles[user], nodePermissions(node), isConfigMapRead); err != nil {
		return err
	}
	return s.ensureUser(ctx, user, known.users[user], user)
}

// SetNodeConfigMaps makes the ConfigMaps node's agent may read exactly cms (keys of kind
// ConfigMap): it grants those missing and revokes the others, and changes nothing when they
// are already so. It creates the node's role when there is none yet and cms is not empty, so
// that the rights are there when the node joins. On a fenced store it fails with ErrNotLeader once the term is
// over (etcd's auth requests take no compare, so this is checked just before).
func (s *Store) SetNodeConfigMaps(ctx context.Context, node string, cms []api.Key) error {
	if err := checkNodeName(node); err != nil {
		return err
	}
	want := nodePermissions(node)
	for _, k := range cms {
		if k.Kind != api.KindConfigMap || k.Namespace == "" || k.Name == "" || strings.Contains(k.Namespace+k.Name, "/") {
			return fmt.Errorf("grant node %s configmap %s: not a ConfigMap key", node, k)
		}
		want = append(want, configMapRead(k))
	}
	if err := s.checkFence(ctx); err != nil {
		return fmt.Errorf("set configmaps of node %s: %w", node, err)
	}
	// The role exists unless the node never joined, or was deleted: a failed read then is
	// rare, and cheaper than listing every role each time.
	role := NodeUser(node)
	have, exists, err := s.rolePermissions(ctx, role)
	if err != nil {
		return err
	}
	if !exists && len(cms) == 0 {
		return nil // nothing to revoke, and a deleted node gets no role back
	}
	return s.setRole(ctx, role, exists, have, want, nil)
}

// DeleteNodeUser removes the user and role of node's agent, so that its certificate, which
// stays valid until it expires, opens nothing: for a node deleted for good. Deleting a node
// that has none is not an error.
func (s *Store) DeleteNodeUser(ctx context.Context, node string) error {
	if err := checkNodeName(node); err != nil {
		return err
	}
	known, err := s.readAuthNames(ctx)
	if err != nil {
		return err
	}
	user := NodeUser(node)
	if known.users[user] {
		if _, err := s.c.UserDelete(ctx, user); err != nil {
			return fmt.Errorf("delete etcd user %s: %w", user, err)
		}
	}
	if known.roles[user] {
		if _, err := s.c.RoleDelete(ctx, user); err != nil {
			return fmt.Errorf("delete etcd role %s: %w", user, err)
		}
	}
	return nil
}

// NodeRoles lists the nodes that have a role (EnsureNodeUser, SetNodeConfigMaps), by name.
func (s *Store) NodeRoles(ctx context.Context) ([]string, error) {
	resp, err := s.c.RoleList(ctx)
	if err != nil {
		return nil, fmt.Errorf("list etcd roles: %w", err)
	}
	var out []string
	for _, r := range resp.Roles {
		if node, ok := strings.CutPrefix(r, nodeUserPrefix); ok {
			out = append(out, node)
		}
	}
	return out, nil
}

// checkNodeName refuses a name that would make a node's key prefixes overlap another's.
func checkNodeName(node string) error {
	if node == "" || strings.Contains(node, "/") {
		return fmt.Errorf("node name %q: must be non-empty and hold no '/'", node)
	}
	return nil
}
