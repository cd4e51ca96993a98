package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gitfleet/gitfleet/api"
)

// FileErrors are problems with the files of a commit or a working tree found before decoding
// (symlinks, oversized files, a missing path). Like decode errors they fail the whole commit.
type FileErrors []api.FieldError

// Error lists every problem, one per line.
func (e FileErrors) Error() string {
	lines := make([]string, len(e))
	for i, fe := range e {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// collector gathers the manifest files of one tree under the same rules for git and disk.
type collector struct {
	files map[string][]byte
	errs  FileErrors
	// total counts the bytes of every manifest path, against api.MaxRepoBytes.
	total  int64
	ignore ignore
}

func newCollector() *collector { return &collector{files: map[string][]byte{}} }

// readIgnore sets the collector's ignore file from its content, or fails when it is too large.
func (c *collector) readIgnore(b []byte) {
	if len(b) > maxIgnoreBytes {
		c.fail(IgnoreFile, fmt.Sprintf("file is %d bytes, more than the limit of %d", len(b), maxIgnoreBytes))
		return
	}
	c.ignore = parseIgnore(b)
}

func (c *collector) fail(file, msg string) {
	c.errs = append(c.errs, api.FieldError{File: file, Line: 1, Message: msg})
}

// symlink records an error for a link that leaves the tree or stands for a manifest; links
// inside the tree to anything else are ignored, as gitfleet never follows links.
func (c *collector) symlink(rel, target string) {
	joined := path.Join(path.Dir(rel), filepath.ToSlash(target))
	switch {
	case path.IsAbs(filepath.ToSlash(target)) || !filepath.IsLocal(filepath.FromSlash(joined)):
		c.fail(rel, fmt.Sprintf("symlink to %q points outside the repository", target))
	case api.IsManifestFile(rel):
		c.fail(rel, "is a symlink; gitfleet does not follow symlinks, commit the file itself")
	}
}

// fits records an error and returns false when a file of size bytes is too large to read, or
// takes the tree's manifests over api.MaxRepoBytes (reported once, at the first file over).
func (c *collector) fits(rel string, size int64) bool {
	if size > api.MaxFileBytes {
		c.fail(rel, fmt.Sprintf("file is %d bytes, more than the limit of %d", size, api.MaxFileBytes))
		return false
	}
	before := c.total
	c.total += size
	if c.total <= api.MaxRepoBytes {
		return true
	}
	if before <= api.MaxRepoBytes {
		c.fail(rel, fmt.Sprintf("the manifests up to this file are more than %d MiB, the limit for a repository", api.MaxRepoBytes>>20))
	}
	return false
}

func (c *collector) add(rel string, b []byte) { c.files[rel] = b }

// result returns the files, or FileErrors when any file broke a rule.
func (c *collector) result() (map[string][]byte, error) {
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return c.files, nil
}

// checkSubPath rejects a sub-directory that is absolute or climbs out of the repository.
func checkSubPath(sub string) (string, error) {
	sub = strings.Trim(filepath.ToSlash(sub), "/")
	if sub == "" || sub == "." {
		return "", nil
	}
	if !filepath.IsLocal(filepath.FromSlash(sub)) {
		return "", fmt.Errorf("check path %q: must be a directory inside the repository", sub)
	}
	return path.Clean(sub), nil
}

// LoadDir reads the manifests under subPath of the working tree dir, with the same rules as a
// git commit: only .yaml, .yml and .json files, keyed by their slash path relative to dir;
// hidden directories and what IgnoreFile names are skipped; symlinks, files over
// api.MaxFileBytes and trees over api.MaxRepoBytes fail with FileErrors. A symlink is followed
// only when it is dir itself. Hard links to one file are read once; each path still counts
// toward api.MaxRepoBytes, as each is decoded.
func LoadDir(dir, subPath string) (map[string][]byte, error) {
	sub, err := checkSubPath(subPath)
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	root := filepath.Join(dir, filepath.FromSlash(sub))
	if info, err := os.Lstat(root); err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	} else if !info.IsDir() {
		return nil, fmt.Errorf("read manifests: %s is not a directory", root)
	}
	w := &dirWalk{c: newCollector(), dir: dir, root: root, read: map[fileID][]byte{}}
	if b, err := os.ReadFile(filepath.Join(root, IgnoreFile)); err == nil {
		w.c.readIgnore(b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	c := w.c
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return w.visit(p, d)
	})
	if err != nil {
		return nil, fmt.Errorf("read manifests under %s: %w", root, err)
	}
	return c.result()
}

// AsFileErrors returns the FileErrors in err, if any.
func AsFileErrors(err error) (FileErrors, bool) {
	var fe FileErrors
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}
