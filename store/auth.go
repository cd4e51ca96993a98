package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// UserController is the sync controller, the workload controller and node IPAM, which run
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
// users are made one by one (EnsureNodeUser).
func (s *Store) EnableAuth(ctx context.Context) error {
	if err := s.ensureRole(ctx, rootRole); err != nil {
		return err
	}
	for _, u := range []string{UserRoot, UserAdmin} {
		if err := s.ensureUser(ctx, u, rootRole); err != nil {
			return err
		}
	}
	for _, id := range []string{UserController, UserScheduler, UserViewer} {
		if err := s.ensureRole(ctx, id); err != nil {
			return err
		}
		if err := s.syncRole(ctx, id, identityPermissions(id), nil); err != nil {
			return err
		}
		if err := s.ensureUser(ctx, id, id); err != nil {
			return err
		}
	}
	if _, err := s.c.AuthEnable(ctx); err != nil {
		return fmt.Errorf("enable etcd auth: %w", err)
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
	user := NodeUser(node)
	if err := s.ensureRole(ctx, user); err != nil {
		return err
	}
	if err := s.syncRole(ctx, user, nodePermissions(node), isConfigMapRead); err != nil {
		return err
	}
	return s.ensureUser(ctx, user, user)
}

// SetNodeConfigMaps makes the ConfigMaps node's agent may read exactly cms (keys of kind
// ConfigMap): it grants those missing and revokes the others, and changes nothing when they
// are already so. It creates the node's role when there is none yet, so that the rights are
// there when the node joins. On a fenced store it fails with ErrNotLeader once the term is
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
	role := NodeUser(node)
	if err := s.ensureRole(ctx, role); err != nil {
		return err
	}
	return s.syncRole(ctx, role, want, nil)
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

// ensureRole adds role unless it exists.
func (s *Store) ensureRole(ctx context.Context, role string) error {
	if _, err := s.c.RoleAdd(ctx, role); err != nil && !errors.Is(err, rpctypes.ErrRoleAlreadyExist) {
		return fmt.Errorf("add etcd role %s: %w", role, err)
	}
	return nil
}

// ensureUser adds user without a password (its certificate names it) unless it exists, and
// leaves it exactly the role role.
func (s *Store) ensureUser(ctx context.Context, user, role string) error {
	_, err := s.c.UserAddWithOptions(ctx, user, "", &clientv3.UserAddOptions{NoPassword: true})
	if err != nil && !errors.Is(err, rpctypes.ErrUserAlreadyExist) {
		return fmt.Errorf("add etcd user %s: %w", user, err)
	}
	resp, err := s.c.UserGet(ctx, user)
	if err != nil {
		return fmt.Errorf("read etcd user %s: %w", user, err)
	}
	if !slices.Contains(resp.Roles, role) {
		if _, err := s.c.UserGrantRole(ctx, user, role); err != nil {
			return fmt.Errorf("grant etcd role %s to %s: %w", role, user, err)
		}
	}
	for _, r := range resp.Roles {
		if r == role {
			continue
		}
		if _, err := s.c.UserRevokeRole(ctx, user, r); err != nil {
			return fmt.Errorf("revoke etcd role %s from %s: %w", r, user, err)
		}
	}
	return nil
}

// syncRole makes role's permissions want, but for those keep (nil: none) says to leave. Every
// change makes etcd rebuild its permission cache, so a role already right is only read.
func (s *Store) syncRole(ctx context.Context, role string, want []Permission, keep func(Permission) bool) error {
	resp, err := s.c.RoleGet(ctx, role)
	if err != nil {
		return fmt.Errorf("read etcd role %s: %w", role, err)
	}
	have := make([]Permission, 0, len(resp.Perm))
	for _, p := range resp.Perm {
		have = append(have, Permission{Key: string(p.Key), RangeEnd: string(p.RangeEnd), Type: p.PermType})
	}
	grant, revoke := diffPermissions(have, want, keep)
	// Grants first: a permission whose type changes is granted in place, and a role being
	// widened is never narrower in between.
	for _, p := range grant {
		if _, err := s.c.RoleGrantPermission(ctx, role, p.Key, p.RangeEnd, clientv3.PermissionType(p.Type)); err != nil {
			return fmt.Errorf("grant %s to etcd role %s: %w", p, role, err)
		}
	}
	for _, p := range revoke {
		if _, err := s.c.RoleRevokePermission(ctx, role, p.Key, p.RangeEnd); err != nil && !errors.Is(err, rpctypes.ErrPermissionNotGranted) {
			return fmt.Errorf("revoke %s from etcd role %s: %w", p, role, err)
		}
	}
	return nil
}
