package source

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/gitfleet/gitfleet/internal/secret"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Secret is a credential; see package secret.
type Secret = secret.Secret

// redacted replaces a secret wherever one would be printed.
const redacted = secret.Redacted

// minRedactLen is the shortest secret that is also removed verbatim from error messages;
// shorter ones would garble every message and are weak anyway.
const minRedactLen = 4

// Auth says how a Source proves who it is to its remote, and which servers it trusts. The zero
// value means anonymous access with the system's roots, enough for public repositories and
// local paths. At most one credential is set; one that does not fit the URL's scheme is an error.
type Auth struct {
	// Username goes with Password or Token over HTTP(S); alone it is sent as basic auth with an
	// empty password. Over SSH it is the login when the URL names none. "" means "git".
	Username string
	// Password is sent with Username as HTTP basic auth.
	Password Secret
	// Token is an access token sent as the HTTP basic auth password, as GitHub, GitLab and
	// Gitea expect (any non-empty username works there).
	Token Secret
	// BearerToken is sent as "Authorization: Bearer", for servers that want that instead.
	BearerToken Secret
	// SSHKeyFile is a private key (OpenSSH or PEM) for ssh:// and scp-like URLs; it is required
	// for them.
	SSHKeyFile string
	// SSHKeyPassphrase decrypts SSHKeyFile; "" means the key is not encrypted.
	SSHKeyPassphrase Secret
	// KnownHostsFile holds the SSH server's host key. It is required for SSH: a server whose
	// key it lacks or contradicts is refused. It is ignored for other schemes.
	KnownHostsFile string
	// CAFile is a PEM bundle trusted for HTTPS in addition to the system roots.
	CAFile string
}

// String describes the method without any secret, for logs and errors.
func (a Auth) String() string {
	var parts []string
	switch {
	case a.Token != "":
		parts = append(parts, "token as user "+cmp.Or(a.Username, "git"))
	case a.BearerToken != "":
		parts = append(parts, "bearer token")
	case a.Password != "":
		parts = append(parts, "password for user "+a.Username)
	case a.SSHKeyFile != "":
		parts = append(parts, "ssh key "+a.SSHKeyFile)
	case a.Username != "":
		// Alone, the username is the credential (https://TOKEN@github.com): hide it.
		parts = append(parts, "username only, "+redacted)
	}
	if a.CAFile != "" {
		parts = append(parts, "ca "+a.CAFile)
	}
	if len(parts) == 0 {
		return "anonymous"
	}
	return strings.Join(parts, ", ")
}

// GoString keeps %#v from printing the fields.
func (a Auth) GoString() string { return "reconciler.Auth{" + a.String() + "}" }

// LogValue logs the description, never the fields.
func (a Auth) LogValue() slog.Value { return slog.StringValue(a.String()) }

// MarshalText encodes the description, never the fields (JSON and YAML included).
func (a Auth) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// check reports a credential that cannot be used with scheme, or two credentials at once.
func (a Auth) check(scheme string) error {
	n := 0
	for _, set := range []bool{a.Password != "", a.Token != "", a.BearerToken != "", a.SSHKeyFile != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("check git auth: set only one of password, token, bearer token and SSH key")
	case a.Password != "" && a.Username == "":
		return errors.New("check git auth: a password needs a username")
	case isHTTP(scheme) && a.sshCredentials():
		return fmt.Errorf("check git auth: an SSH key or passphrase does not apply to a %s URL", scheme)
	case scheme == "ssh" && (a.httpCredentials() || a.CAFile != ""):
		return errors.New("check git auth: a password, token or CA file does not apply to an SSH URL; use an SSH key")
	case !isHTTP(scheme) && scheme != "ssh" && (a.httpCredentials() || a.sshCredentials() || a.CAFile != ""):
		return fmt.Errorf("check git auth: credentials do not apply to a %s URL", scheme)
	}
	return nil
}

func isHTTP(scheme string) bool { return scheme == "http" || scheme == "https" }

// credentialsFromURL moves the user and password of an http(s) URL into Auth, so that they
// reach neither the cache's git config nor Config().URL. A user alone may go with a password or
// token from Auth. Other URLs are returned unchanged.
func credentialsFromURL(raw string, a Auth) (string, Auth, error) {
	u, err := url.Parse(raw)
	if err != nil || !isHTTP(u.Scheme) || u.User == nil {
		return raw, a, nil
	}
	password, hasPassword := u.User.Password()
	if a.Username != "" || hasPassword && a.httpCredentials() {
		return "", a, errors.New("check source: credentials both in the URL and in Auth; keep them out of the URL")
	}
	a.Username = u.User.Username()
	if hasPassword {
		a.Password = Secret(password)
	}
	u.User = nil
	return u.String(), a, nil
}

// transportAuth builds go-git's auth method for endpoint; nil means anonymous.
func (a Auth) transportAuth(ep *transport.Endpoint) (transport.AuthMethod, error) {
	switch {
	case ep.Protocol == "ssh":
		return a.sshAuth(ep)
	case !isHTTP(ep.Protocol):
		return nil, nil
	case a.Token != "":
		return &githttp.BasicAuth{Username: cmp.Or(a.Username, "git"), Password: string(a.Token)}, nil
	case a.BearerToken != "":
		return &githttp.TokenAuth{Token: string(a.BearerToken)}, nil
	case a.Password != "" || a.Username != "":
		return &githttp.BasicAuth{Username: a.Username, Password: string(a.Password)}, nil
	}
	return nil, nil
}

// sshAuth loads the private key and pins the host keys of KnownHostsFile.
func (a Auth) sshAuth(ep *transport.Endpoint) (transport.AuthMethod, error) {
	if a.SSHKeyFile == "" {
		return nil, errors.New("set up ssh: an SSH URL needs a private key file")
	}
	user := cmp.Or(ep.User, cmp.Or(a.Username, "git"))
	keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, string(a.SSHKeyPassphrase))
	if err != nil {
		return nil, fmt.Errorf("set up ssh: read private key %s: %w", a.SSHKeyFile, err)
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	hostPort := net.JoinHostPort(ep.Host, fmt.Sprint(port))
	keys.HostKeyCallback, keys.HostKeyAlgorithms, err = hostKeyCheck(a.KnownHostsFile, hostPort)
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// hostKeyCheck returns a host key callback that accepts only the keys file lists for the host,
// and the key algorithms to ask the server for (those file holds for hostPort).
func hostKeyCheck(file, hostPort string) (ssh.HostKeyCallback, []string, error) {
	if file == "" {
		return nil, nil, errors.New("set up ssh: a known_hosts file is required; refusing to connect without checking the server's host key")
	}
	if _, err := os.Stat(file); err != nil {
		return nil, nil, fmt.Errorf("set up ssh: read known_hosts: %w", err)
	}
	db, err := gitssh.NewKnownHostsDb(file)
	if err != nil {
		return nil, nil, fmt.Errorf("set up ssh: read known_hosts %s: %w", file, err)
	}
	check := db.HostKeyCallback()
	cb := func(host string, remote net.Addr, key ssh.PublicKey) error {
		return explainHostKeyError(check(host, remote, key), file, host, key)
	}
	return cb, db.HostKeyAlgorithms(hostPort), nil
}

// explainHostKeyError says whether the host is unknown or presented another key.
func explainHostKeyError(err error, file, host string, key ssh.PublicKey) error {
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return err
	}
	fp := ssh.FingerprintSHA256(key)
	if len(ke.Want) > 0 {
		return fmt.Errorf("host key mismatch: %s presented %s %s, which %s does not list for it: %w",
			host, key.Type(), fp, file, err)
	}
	return fmt.Errorf("unknown host: %s (key %s %s) is not in %s: %w", host, key.Type(), fp, file, err)
}

// userinfoRE matches a URL's scheme (group 1) and user[:password]@ part (group 2).
var userinfoRE = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)([^/\s"'?#]*@)`)

// RedactURL strips user and password from every URL in s, for logging a repository address
// that may carry credentials. A bare SSH login (ssh://git@host) is kept: it is no secret.
func RedactURL(s string) string {
	return userinfoRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfoRE.FindStringSubmatch(m)
		if strings.EqualFold(sub[1], "ssh://") && !strings.Contains(sub[2], ":") {
			return m
		}
		return sub[1]
	})
}

// secretForms are the spellings of a secret that may appear in a message: raw and URL-escaped.
func secretForms(s string) []string {
	return []string{s, url.PathEscape(s), url.QueryEscape(s)}
}

// redactText strips URL credentials and every given secret from msg.
func redactText(msg string, secrets []Secret) string {
	msg = RedactURL(msg)
	for _, s := range secrets {
		if len(s) < minRedactLen {
			continue
		}
		for _, f := range secretForms(string(s)) {
			msg = strings.ReplaceAll(msg, f, redacted)
		}
	}
	return msg
}

// redactError returns err with URL credentials and secrets removed from its message. The result
// still matches the sentinels of err's chain under errors.Is, but errors.As cannot reach the
// original, unredacted errors.
func redactError(err error, secrets []Secret) error {
	if err == nil {
		return nil
	}
	msg := redactText(err.Error(), secrets)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is lets errors.Is see the sentinels (context.Canceled, transport.ErrAuthenticationRequired)
// of the hidden chain.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// httpCredentials reports whether a password or a token is set.
func (a Auth) httpCredentials() bool {
	return a.Password != "" || a.Token != "" || a.BearerToken != ""
}

// sshCredentials reports whether an SSH key or its passphrase is set.
func (a Auth) sshCredentials() bool { return a.SSHKeyFile != "" || a.SSHKeyPassphrase != "" }

// secrets lists the secret fields, for redaction, with a username that is the only credential.
func (a Auth) secrets() []Secret {
	s := []Secret{a.Password, a.Token, a.BearerToken, a.SSHKeyPassphrase}
	if !a.httpCredentials() && a.SSHKeyFile == "" {
		s = append(s, Secret(a.Username))
	}
	return s
}
