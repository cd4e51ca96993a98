package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// This file makes etcd's users and roles what auth.go asks. It reads before it writes, and
// asks whether a user or role exists by listing them: etcd logs a warning for every request
// that fails, a read of what does not exist and an add of what does included.

// authNames are the roles and users that exist.
type authNames struct {
	roles, users map[string]bool
}

// readAuthNames lists the roles and users.
func (s *Store) readAuthNames(ctx context.Context) (authNames, error) {
	n := authNames{roles: map[string]bool{}, users: map[string]bool{}}
	roles, err := s.c.RoleList(ctx)
	if err != nil {
		return n, fmt.Errorf("list etcd roles: %w", err)
	}
	for _, r := range roles.Roles {
		n.roles[r] = true
	}
	users, err := s.c.UserList(ctx)
	if err != nil {
		return n, fmt.Errorf("list etcd users: %w", err)
	}
	for _, u := range users.Users {
		n.users[u] = true
	}
	return n, nil
}

// ensureUser adds user without a password (its certificate names it) unless it exists, and
// leaves it exactly the role role.
func (s *Store) ensureUser(ctx context.Context, user string, exists bool, role string) error {
	var roles []string
	var resp *clientv3.AuthUserGetResponse
	err := rpctypes.ErrUserNotFound
	if exists {
		resp, err = s.c.UserGet(ctx, user)
	}
	switch {
	case errors.Is(err, rpctypes.ErrUserNotFound):
		if _, err := s.c.UserAddWithOptions(ctx, user, "", &clientv3.UserAddOptions{NoPassword: true}); err != nil {
			return fmt.Errorf("add etcd user %s: %w", user, err)
		}
	case err != nil:
		return fmt.Errorf("read etcd user %s: %w", user, err)
	default:
		roles = resp.Roles
	}
	if !slices.Contains(roles, role) {
		if _, err := s.c.UserGrantRole(ctx, user, role); err != nil {
			return fmt.Errorf("grant etcd role %s to %s: %w", role, user, err)
		}
	}
	for _, r := range roles {
		if r == role {
			continue
		}
		if _, err := s.c.UserRevokeRole(ctx, user, r); err != nil {
			return fmt.Errorf("revoke etcd role %s from %s: %w", r, user, err)
		}
	}
	return nil
}

// syncRole makes role's permissions want, but for those keep (nil: none) says to leave, and
// adds the role first when it does not exist (exists false says so without asking).
func (s *Store) syncRole(ctx context.Context, role string, exists bool, want []Permission, keep func(Permission) bool) error {
	var have []Permission
	if exists {
		var err error
		if have, exists, err = s.rolePermissions(ctx, role); err != nil {
			return err
		}
	}
	return s.setRole(ctx, role, exists, have, want, keep)
}

// rolePermissions reads the permissions of role, and whether it exists.
func (s *Store) rolePermissions(ctx context.Context, role string) ([]Permission, bool, error) {
	resp, err := s.c.RoleGet(ctx, role)
	if errors.Is(err, rpctypes.ErrRoleNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read etcd role %s: %w", role, err)
	}
	have := make([]Permission, 0, len(resp.Perm))
	for _, p := range resp.Perm {
		have = append(have, Permission{Key: string(p.Key), RangeEnd: string(p.RangeEnd), Type: p.PermType})
	}
	return have, true, nil
}

// setRole turns role's permissions have into want, but for those keep (nil: none) says to
// leave, adding the role first unless it exists. Every change makes etcd rebuild its
// permission cache, so a role already right is left alone.
func (s *Store) setRole(ctx context.Context, role string, exists bool, have, want []Permission, keep func(Permission) bool) error {
	if !exists {
		if _, err := s.c.RoleAdd(ctx, role); err != nil && !errors.Is(err, rpctypes.ErrRoleAlreadyExist) {
			return fmt.Errorf("add etcd role %s: %w", role, err)
		}
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
