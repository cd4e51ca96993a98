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
}

func newCollector() *collector { return &collector{files: map[string][]byte{}} }

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

// fits records an error and returns false when a file of size bytes is too large to read.
func (c *collector) fits(rel string, size int64) bool {
	if size <= api.MaxFileBytes {
		return true
	}
	c.fail(rel, fmt.Sprintf("file is %d bytes, more than the limit of %d", size, api.MaxFileBytes))
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
// git commit: only .yaml, .yml and .json files, keyed by their slash path relative to dir; .git
// is skipped; symlinks and files over api.MaxFileBytes fail with FileErrors.
func LoadDir(dir, subPath string) (map[string][]byte, error) {
	sub, err := checkSubPath(subPath)
	if err != nil {
		return nil, err
	}
	root := filepath.Join(dir, filepath.FromSlash(sub))
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	c := newCollector()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return c.visit(dir, p, d)
	})
	if err != nil {
		return nil, fmt.Errorf("read manifests under %s: %w", root, err)
	}
	return c.result()
}

// visit handles one entry of a working tree walk.
func (c *collector) visit(dir, p string, d fs.DirEntry) error {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return err
	}
	rel = filepath.ToSlash(rel)
	switch {
	case d.IsDir() && d.Name() == ".git":
		return filepath.SkipDir
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		c.symlink(rel, target)
		return nil
	case !d.Type().IsRegular() || !api.IsManifestFile(rel):
		return nil
	}
	info, err := d.Info()
	if err != nil {
		return err
	}
	if !c.fits(rel, info.Size()) {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	c.add(rel, b)
	return nil
}

// AsFileErrors returns the FileErrors in err, if any.
func AsFileErrors(err error) (FileErrors, bool) {
	var fe FileErrors
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}
