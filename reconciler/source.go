package reconciler

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// SourceConfig says which manifests a Source reads.
type SourceConfig struct {
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
}

const remoteName = "origin"

// withDefaults fills the zero fields and checks the others.
func (c SourceConfig) withDefaults() (SourceConfig, error) {
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

// Source follows one branch of a git repository through a local bare clone. Its methods are
// safe for concurrent use.
type Source struct {
	cfg    SourceConfig
	mu     sync.Mutex
	repo   *git.Repository
	remote *git.Remote
}

// NewSource opens the bare clone in cfg.CacheDir, creating it when missing. It does not fetch.
func NewSource(cfg SourceConfig) (*Source, error) {
	cfg, err := cfg.withDefaults()
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
	return &Source{cfg: cfg, repo: repo, remote: remote}, nil
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
func (s *Source) Config() SourceConfig { return s.cfg }

func (s *Source) localRef() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName(remoteName, s.cfg.Branch)
}

// Fetch brings the branch's head into the clone and returns its commit hash. It asks the remote
// for its refs first and skips the download when the head has not moved. A force-push is
// followed like any other move.
func (s *Source) Fetch(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	head, err := s.remoteHead(ctx)
	if err != nil {
		return "", err
	}
	if local, err := s.repo.Reference(s.localRef(), true); err == nil && local.Hash() == head {
		return head.String(), nil
	}
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(s.cfg.Branch), s.localRef()))
	err = s.remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []config.RefSpec{spec},
		Depth:    1,
		Tags:     git.NoTags,
		Force:    true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return "", fmt.Errorf("fetch %s from %s: %w", s.cfg.Branch, s.cfg.URL, err)
	}
	local, err := s.repo.Reference(s.localRef(), true)
	if err != nil {
		return "", fmt.Errorf("read fetched ref %s: %w", s.localRef(), err)
	}
	return local.Hash().String(), nil
}

// remoteHead lists the remote's refs (ls-remote) and returns the branch's hash.
func (s *Source) remoteHead(ctx context.Context) (plumbing.Hash, error) {
	refs, err := s.remote.ListContext(ctx, &git.ListOptions{})
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("list refs of %s: %w", s.cfg.URL, err)
	}
	want := plumbing.NewBranchReferenceName(s.cfg.Branch)
	for _, r := range refs {
		if r.Name() == want && r.Type() == plumbing.HashReference {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("find branch %q on %s: not found", s.cfg.Branch, s.cfg.URL)
}

// Files reads every manifest (.yaml, .yml, .json) under the configured path at commit from the
// git tree, keyed by slash path relative to the repository root. A symlink, a file over
// api.MaxFileBytes or a path missing from the commit fails with FileErrors; an existing but empty
// path yields no files, which the controller applies like any commit (it prunes everything).
func (s *Source) Files(ctx context.Context, commit string) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tree, err := s.tree(commit)
	if err != nil {
		return nil, err
	}
	if s.cfg.Path != "" {
		tree, err = tree.Tree(s.cfg.Path)
		if errors.Is(err, object.ErrDirectoryNotFound) {
			msg := fmt.Sprintf("directory not found at commit %s", short(commit))
			return nil, FileErrors{{File: s.cfg.Path, Line: 1, Message: msg}}
		}
		if err != nil {
			return nil, fmt.Errorf("read %s at %s: %w", s.cfg.Path, short(commit), err)
		}
	}
	c := newCollector()
	err = tree.Files().ForEach(func(f *object.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return c.visitBlob(path.Join(s.cfg.Path, f.Name), f)
	})
	if err != nil {
		return nil, fmt.Errorf("read files at %s: %w", short(commit), err)
	}
	return c.result()
}

// tree returns the root tree of a fetched commit.
func (s *Source) tree(commit string) (*object.Tree, error) {
	if !plumbing.IsHash(commit) {
		return nil, fmt.Errorf("read commit %q: not a commit hash", commit)
	}
	c, err := s.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", short(commit), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", short(commit), err)
	}
	return tree, nil
}

// visitBlob handles one file of a git tree.
func (c *collector) visitBlob(rel string, f *object.File) error {
	if f.Mode == filemode.Symlink {
		target, err := f.Contents()
		if err != nil {
			return err
		}
		c.symlink(rel, target)
		return nil
	}
	if !api.IsManifestFile(rel) || !c.fits(rel, f.Size) {
		return nil
	}
	b, err := f.Contents()
	if err != nil {
		return err
	}
	c.add(rel, []byte(b))
	return nil
}

// short abbreviates a commit hash for messages.
func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
