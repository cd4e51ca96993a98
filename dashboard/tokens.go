package dashboard

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Role is what a user of the dashboard may do.
type Role string

// The roles: a viewer reads everything the page shows; an admin may also sync and roll back.
const (
	RoleViewer Role = "viewer"
	RoleAdmin  Role = "admin"
)

// can reports whether r may do what need allows.
func (r Role) can(need Role) bool {
	switch need {
	case RoleViewer:
		return r == RoleViewer || r == RoleAdmin
	case RoleAdmin:
		return r == RoleAdmin
	}
	return false
}

// MinTokenLength is the shortest token a token file may hold: the dashboard answers anyone who
// reaches its address, and a short token is guessed.
const MinTokenLength = 16

// Tokens maps the dashboard's tokens to roles. Tokens are kept as SHA-256 hashes, so a lookup
// compares hashes of fixed length, not the secrets themselves.
type Tokens struct {
	roles map[[sha256.Size]byte]Role
}

// Role returns the role of token; false when the token is unknown.
func (t *Tokens) Role(token string) (Role, bool) {
	if t == nil || token == "" {
		return "", false
	}
	r, ok := t.roles[sha256.Sum256([]byte(token))]
	return r, ok
}

// Len is how many tokens t holds.
func (t *Tokens) Len() int { return len(t.roles) }

// ReadTokens reads a token file (see ParseTokens). A missing file, or one with no token, is
// an error: a dashboard told to ask for a login must have someone who can log in.
func ReadTokens(path string) (*Tokens, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dashboard tokens: %w", err)
	}
	return ParseTokens(path, b)
}

// ParseTokens parses the lines of a token file named file: "TOKEN ROLE", ROLE viewer or
// admin, separated by spaces or tabs; blank lines and lines starting with # are skipped. Each
// error names file:line.
func ParseTokens(file string, b []byte) (*Tokens, error) {
	t := &Tokens{roles: map[[sha256.Size]byte]Role{}}
	var errs []error
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := t.add(line); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", file, n, err))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read %s: %w", file, err))
	}
	if len(errs) == 0 && len(t.roles) == 0 {
		errs = append(errs, fmt.Errorf("%s: no token: want lines \"TOKEN ROLE\", ROLE viewer or admin", file))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// add parses one line "TOKEN ROLE" into t.
func (t *Tokens) add(line string) error {
	f := strings.Fields(line)
	if len(f) != 2 {
		return fmt.Errorf("want \"TOKEN ROLE\", got %d fields", len(f))
	}
	role := Role(f[1])
	if role != RoleViewer && role != RoleAdmin {
		return fmt.Errorf("role %q: want viewer or admin", f[1])
	}
	if len(f[0]) < MinTokenLength {
		return fmt.Errorf("token of %d characters: want at least %d (for example: openssl rand -hex 16)", len(f[0]), MinTokenLength)
	}
	h := sha256.Sum256([]byte(f[0]))
	if _, dup := t.roles[h]; dup {
		return errors.New("token listed twice")
	}
	t.roles[h] = role
	return nil
}
