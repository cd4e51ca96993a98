package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Config says which manifests a Git source reads.
type Config struct {
	// URL is a clone URL or a local repository path.
	URL string
	// Branch is the branch followed; "" means main.
	Branch string
	// Path is the sub-directory holding the manifests; "" means the repository root.
	Path string
	// PollInterval is how often the controller fetches; 0 means 5s.
	PollInterval time.Duration
	// CacheDir holds the local bare clone; it is created when missing and reused across restarts.
	CacheDir string
	// Auth holds the credentials and trusted CAs for the remote; the zero value is anonymous.
	// Credentials in an http(s) URL are moved here, so Config().URL never carries them.
	Auth Auth
}

const remoteName = "origin"

// withDefaults fills the zero fields and checks the others.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		return c, errors.New("check source: URL is required")
	}
	if c.CacheDir == "" {
		return c, errors.New("check source: CacheDir is required")
	}
	if c.Branch == "" {
		c.Branch = "main"
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	sub, err := checkSubPath(c.Path)
	if err != nil {
		return c, err
	}
	c.Path = sub
	if c.URL, c.Auth, err = credentialsFromURL(c.URL, c.Auth); err != nil {
		return c, err
	}
	if isLocalPath(c.URL) {
		if abs, err := filepath.Abs(c.URL); err == nil {
			c.URL = abs
		}
	}
	return c, nil
}

// isLocalPath reports whether url names a path on disk rather than a remote.
func isLocalPath(url string) bool {
	if strings.Contains(url, "://") {
		return false
	}
	_, err := os.Stat(url)
	return err == nil
}

// Git follows one branch of a git repository through a local bare clone. Its methods are
// safe for concurrent use.
type Git struct {
	cfg  Config
	conn conn
	// url is cfg.URL without credentials, for messages.
	url    string
	mu     sync.Mutex
	repo   *git.Repository
	remote *git.Remote
}

// conn is what every request to the remote carries.
type conn struct {
	auth     transport.AuthMethod
	caBundle []byte
	secrets  []Secret
}

// NewSource opens the bare clone in cfg.CacheDir, creating it when missing. It does not fetch.
func New(cfg Config) (*Git, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c, err := newConn(cfg.URL, cfg.Auth)
	if err != nil {
		return nil, err
	}
	repo, err := git.PlainOpen(cfg.CacheDir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInit(cfg.CacheDir, true)
	}
	if err != nil {
		return nil, fmt.Errorf("open git cache %s: %w", cfg.CacheDir, err)
	}
	remote, err := ensureRemote(repo, cfg.URL)
	if err != nil {
		return nil, err
	}
	return &Git{cfg: cfg, conn: c, url: RedactURL(cfg.URL), repo: repo, remote: remote}, nil
}

// newConn checks auth against url's scheme and loads its key and CA files.
func newConn(url string, auth Auth) (conn, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return conn{}, fmt.Errorf("check source: parse URL %s: %w", RedactURL(url), err)
	}
	if err := auth.check(ep.Protocol); err != nil {
		return conn{}, err
	}
	c := conn{secrets: auth.secrets()}
	if c.auth, err = auth.transportAuth(ep); err != nil {
		return conn{}, err
	}
	if auth.CAFile != "" {
		if c.caBundle, err = os.ReadFile(auth.CAFile); err != nil {
			return conn{}, fmt.Errorf("read CA file: %w", err)
		}
	}
	return c, nil
}

// ensureRemote points the clone's origin at url, replacing an origin that points elsewhere.
func ensureRemote(repo *git.Repository, url string) (*git.Remote, error) {
	r, err := repo.Remote(remoteName)
	if err == nil && len(r.Config().URLs) == 1 && r.Config().URLs[0] == url {
		return r, nil
	}
	if err == nil {
		if err := repo.DeleteRemote(remoteName); err != nil {
			return nil, fmt.Errorf("replace remote: %w", err)
		}
	} else if !errors.Is(err, git.ErrRemoteNotFound) {
		return nil, fmt.Errorf("read remote: %w", err)
	}
	r, err = repo.CreateRemote(&config.RemoteConfig{Name: remoteName, URLs: []string{url}})
	if err != nil {
		return nil, fmt.Errorf("create remote: %w", err)
	}
	return r, nil
}

// Config returns the configuration with defaults filled in.
func (s *Git) Config() Config { return s.cfg }

func (s *Git) localRef() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName(remoteName, s.cfg.Branch)
}

// Fetch brings the branch's head into the clone and returns its commit hash. It asks the remote
// for its refs first and skips the download when the head has not moved. A force-push is
// followed like any other move. Errors never carry credentials.
func (s *Git) Fetch(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, err := s.remoteHead(ctx)
	if err != nil {
		return "", err
	}
	if local, err := s.repo.Reference(s.localRef(), true); err == nil && local.Hash() == head {
		return head.String(), nil
	}
	if err := s.fetchBranch(ctx, 1); err != nil {
		return "", err
	}
	local, err := s.repo.Reference(s.localRef(), true)
	if err != nil {
		return "", fmt.Errorf("read fetched ref %s: %w", s.localRef(), err)
	}
	return local.Hash().String(), nil
}

// fullHistory is the depth that asks for a branch's whole history (git's --unshallow sends
// the same).
const fullHistory = math.MaxInt32

// fetchBranch downloads the branch's head, with its history down to depth commits, into the
// local ref.
func (s *Git) fetchBranch(ctx context.Context, depth int) error {
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(s.cfg.Branch), s.localRef()))
	err := s.remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []config.RefSpec{spec},
		Depth:    depth,
		Tags:     git.NoTags,
		Force:    true,
		Auth:     s.conn.auth,
		CABundle: s.conn.caBundle,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return s.redact(fmt.Errorf("fetch %s from %s: %w", s.cfg.Branch, s.url, err))
	}
	return nil
}

// remoteHead lists the remote's refs (ls-remote) and returns the branch's hash.
func (s *Git) remoteHead(ctx context.Context) (plumbing.Hash, error) {
	refs, err := s.remote.ListContext(ctx, &git.ListOptions{Auth: s.conn.auth, CABundle: s.conn.caBundle})
	if err != nil {
		return plumbing.ZeroHash, s.redact(fmt.Errorf("list refs of %s (auth: %s): %w", s.url, s.cfg.Auth, err))
	}
	want := plumbing.NewBranchReferenceName(s.cfg.Branch)
	for _, r := range refs {
		if r.Name() == want && r.Type() == plumbing.HashReference {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("find branch %q on %s: not found", s.cfg.Branch, s.url)
}

// redact strips credentials from an error about the remote.
func (s *Git) redact(err error) error { return redactError(err, s.conn.secrets) }

// ErrNotOnBranch is wrapped by Ensure's error for a commit that the branch does not contain.
var ErrNotOnBranch = errors.New("commit is not on the branch")

// Ensure makes commit and its tree available to Files, for a rollback to a commit older than
// the fetched head (Fetch downloads only the head). A commit already reachable from the fetched
// head costs no request; otherwise Ensure fetches the branch's whole history, which also moves
// the fetched head to the remote's. A commit the branch does not contain fails with an error
// wrapping ErrNotOnBranch; so does a string that is not a full commit hash.
func (s *Git) Ensure(ctx context.Context, commit string) error {
	if !plumbing.IsHash(commit) {
		return fmt.Errorf("ensure commit %q: not a full commit hash: %w", commit, ErrNotOnBranch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want := plumbing.NewHash(commit)
	found, err := s.onBranch(ctx, want)
	if err != nil || found {
		return err
	}
	if err := s.fetchBranch(ctx, fullHistory); err != nil {
		return fmt.Errorf("ensure commit %s: %w", api.ShortHash(commit), err)
	}
	found, err = s.onBranch(ctx, want)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("ensure commit %s: %w %s of %s", api.ShortHash(commit), ErrNotOnBranch, s.cfg.Branch, s.url)
	}
	return nil
}

// onBranch walks the cached history from the fetched head and reports whether it holds want
// with its tree. The walk stops at the edge of a shallow fetch, where parents are missing.
func (s *Git) onBranch(ctx context.Context, want plumbing.Hash) (bool, error) {
	ref, err := s.repo.Reference(s.localRef(), true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read ref %s: %w", s.localRef(), err)
	}
	seen := map[plumbing.Hash]bool{ref.Hash(): true}
	for queue := []plumbing.Hash{ref.Hash()}; len(queue) > 0; queue = queue[1:] {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		c, err := s.repo.CommitObject(queue[0])
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("read commit %s: %w", api.ShortHash(queue[0].String()), err)
		}
		if c.Hash == want {
			_, err := c.Tree()
			return err == nil, nil
		}
		for _, p := range c.ParentHashes {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return false, nil
}

// Files reads every manifest (.yaml, .yml, .json) under the configured path at commit from the
// git tree, keyed by slash path relative to the repository root. A symlink, a file over
// api.MaxFileBytes or a path missing from the commit fails with FileErrors; an existing but empty
// path yields no files, which the controller applies like any commit (it prunes everything).
func (s *Git) Files(ctx context.Context, commit string) (map[string][]byte, error) {
	m, err := s.Manifests(ctx, commit, nil)
	return m.Files, err
}

// Manifests are the manifest files of one commit, each named by the hash of its git blob.
type Manifests struct {
	// Blobs maps the path of every manifest to its blob hash, which names its content.
	Blobs map[string]string
	// Files holds the content of the manifests whose blob the caller did not know.
	Files map[string][]byte
}

// Manifests is Files that reads only what changed: it walks the trees of commit, names every
// manifest by its blob hash, and reads the blobs of the manifests whose hash differs from the one
// known (path to blob hash, as an earlier Manifests returned) has for their path. It fails as
// Files does; a known blob is not checked against api.MaxFileBytes again.
func (s *Git) Manifests(ctx context.Context, commit string, known map[string]string) (Manifests, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tree, err := s.pathTree(commit)
	if err != nil {
		return Manifests{}, err
	}
	mw := &manifestWalk{storer: s.repo.Storer, c: newCollector(), blobs: map[string]string{}, known: known}
	if err := mw.readIgnore(tree); err != nil {
		return Manifests{}, fmt.Errorf("read %s at %s: %w", IgnoreFile, api.ShortHash(commit), err)
	}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, entry, err := w.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			err = mw.visit(path.Join(s.cfg.Path, name), name, entry)
		}
		if err != nil {
			return Manifests{}, fmt.Errorf("read files at %s: %w", api.ShortHash(commit), err)
		}
	}
	files, err := mw.c.result()
	if err != nil {
		return Manifests{}, err
	}
	return Manifests{Blobs: mw.blobs, Files: files}, nil
}

// pathTree returns the tree of the configured path at commit; FileErrors when it is missing.
func (s *Git) pathTree(commit string) (*object.Tree, error) {
	tree, err := s.tree(commit)
	if err != nil || s.cfg.Path == "" {
		return tree, err
	}
	sub, err := tree.Tree(s.cfg.Path)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		msg := fmt.Sprintf("directory not found at commit %s", api.ShortHash(commit))
		return nil, FileErrors{{File: s.cfg.Path, Line: 1, Message: msg}}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", s.cfg.Path, api.ShortHash(commit), err)
	}
	return sub, nil
}

// tree returns the root tree of a fetched commit.
func (s *Git) tree(commit string) (*object.Tree, error) {
	if !plumbing.IsHash(commit) {
		return nil, fmt.Errorf("read commit %q: not a commit hash", commit)
	}
	c, err := s.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", api.ShortHash(commit), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", api.ShortHash(commit), err)
	}
	return tree, nil
}
