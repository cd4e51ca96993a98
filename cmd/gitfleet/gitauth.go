package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitfleet/gitfleet/source"
)

// Environment variables that may hold a secret instead of a file.
const (
	envGitToken         = "GITFLEET_GIT_TOKEN"
	envGitPassword      = "GITFLEET_GIT_PASSWORD"
	envGitSSHPassphrase = "GITFLEET_GIT_SSH_PASSPHRASE"
)

// gitAuthFlags say how the controller authenticates to its git remote. Secrets come from files
// or the environment, never from flag values, which any user can read in the process list.
type gitAuthFlags struct {
	username, passwordFile, tokenFile, tokenScheme string
	sshKeyFile, sshPassphraseFile, knownHosts      string
	caFile                                         string
	// getenv reads the environment; nil means os.Getenv.
	getenv func(string) string
}

func (f *gitAuthFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.username, "git-username", "",
		"user for HTTPS basic auth or a token (default git with a token); the SSH login when the URL names none")
	fs.StringVar(&f.passwordFile, "git-password-file", "",
		"file holding the HTTPS password for --git-username (else $"+envGitPassword+")")
	fs.StringVar(&f.tokenFile, "git-token-file", "", "file holding an HTTPS access token (else $"+envGitToken+")")
	fs.StringVar(&f.tokenScheme, "git-token-scheme", "basic",
		"how the token is sent: basic (as the basic auth password: GitHub, GitLab, Gitea) or bearer")
	fs.StringVar(&f.sshKeyFile, "git-ssh-key-file", "", "private key for ssh:// and user@host:path repositories")
	fs.StringVar(&f.sshPassphraseFile, "git-ssh-passphrase-file", "",
		"file holding the passphrase of --git-ssh-key-file (else $"+envGitSSHPassphrase+")")
	fs.StringVar(&f.knownHosts, "git-ssh-known-hosts", defaultKnownHosts(),
		"known_hosts file that must list the SSH server's host key; servers it does not list are refused")
	fs.StringVar(&f.caFile, "git-ca-file", "", "PEM CA bundle trusted for HTTPS in addition to the system roots")
}

// defaultKnownHosts is ~/.ssh/known_hosts, or "" without a home directory.
func defaultKnownHosts() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".ssh", "known_hosts")
}

// auth reads the secret files and variables into a source.Auth. Whether the result fits
// the repository URL is checked by source.New.
func (f *gitAuthFlags) auth() (source.Auth, error) {
	a := source.Auth{Username: f.username, SSHKeyFile: f.sshKeyFile, KnownHostsFile: f.knownHosts, CAFile: f.caFile}
	var token source.Secret
	var err error
	if a.Password, err = f.secret("--git-password-file", f.passwordFile, envGitPassword); err != nil {
		return a, err
	}
	if token, err = f.secret("--git-token-file", f.tokenFile, envGitToken); err != nil {
		return a, err
	}
	if a.SSHKeyPassphrase, err = f.secret("--git-ssh-passphrase-file", f.sshPassphraseFile, envGitSSHPassphrase); err != nil {
		return a, err
	}
	switch f.tokenScheme {
	case "basic", "":
		a.Token = token
	case "bearer":
		a.BearerToken = token
	default:
		return a, fmt.Errorf("parse --git-token-scheme: %q is neither basic nor bearer", f.tokenScheme)
	}
	return a, nil
}

// secret reads file, or else the environment variable env; "" when neither is set. One
// trailing newline is dropped from the file.
func (f *gitAuthFlags) secret(flagName, file, env string) (source.Secret, error) {
	if file == "" {
		getenv := f.getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		return source.Secret(getenv(env)), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", flagName, err)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("read %s: %s is empty", flagName, file)
	}
	return source.Secret(s), nil
}

// errRepoCredentials refuses an http(s) --repo with a user or password in it. The URL is a flag
// value, which any user reads in the process list; a lone user counts too, as a token is often
// passed as the user (https://TOKEN@github.com/...).
var errRepoCredentials = errors.New("--repo holds credentials, which any user sees in the process list: " +
	"put the token in a file and pass --git-token-file (and the user, if one is needed, as --git-username)")

// checkRepoURL refuses credentials in an http(s) --repo. An SSH user (git@host:path,
// ssh://git@host/path) is a login name, not a secret, and stays allowed.
func checkRepoURL(repo string) error {
	u, err := url.Parse(repo)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User == nil {
		return nil // source.New reports a URL it cannot use
	}
	return errRepoCredentials
}
